//! The six scheme adapters as the registry holds them (built by the gateway from its
//! configuration; a scheme with no URL is not configured, never a fake), the myScheme catalogue
//! cached, and the schemes' status as `GET /v1/schemes` lists it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use adapter_core::{AdapterError, SchemeAdapter, SchemeId};
use adapter_myscheme::{CatalogueEntry, MyScheme};
use adapter_ncs::Ncs;
use adapter_pmjay::Pmjay;
use adapter_pmjjby::Pmjjby;
use adapter_pmsym::Pmsym;
use adapter_sidh::Sidh;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::Registry;
use crate::error::{Error, Result};

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

/// Each scheme's adapter, `None` for a scheme with no URL here.
#[derive(Default)]
pub struct AdapterSet {
    pub ncs: Option<Ncs>,
    pub sidh: Option<Sidh>,
    pub myscheme: Option<MyScheme>,
    pub pmsym: Option<Pmsym>,
    pub pmjay: Option<Pmjay>,
    pub pmjjby: Option<Pmjjby>,
}

impl Adapters {
    /// The adapters of `set`, with the myScheme catalogue kept for `catalogue_ttl`.
    pub fn new(set: AdapterSet, catalogue_ttl: Duration) -> Adapters {
        Adapters {
            ncs: set.ncs,
            sidh: set.sidh,
            myscheme: set.myscheme,
            pmsym: set.pmsym,
            pmjay: set.pmjay,
            pmjjby: set.pmjjby,
            catalogue: std::sync::Mutex::new(Catalogue::default()),
            catalogue_refresh: tokio::sync::Mutex::new(()),
            catalogue_ttl,
        }
    }

    /// The scheme's adapter, or [`Error::SchemeNotConfigured`] when it has no URL here.
    pub fn get(&self, id: SchemeId) -> Result<&dyn SchemeAdapter> {
        let adapter: Option<&dyn SchemeAdapter> = match id {
            SchemeId::Ncs => self.ncs.as_ref().map(|a| a as _),
            SchemeId::Sidh => self.sidh.as_ref().map(|a| a as _),
            SchemeId::Myscheme => self.myscheme.as_ref().map(|a| a as _),
            SchemeId::Pmsym => self.pmsym.as_ref().map(|a| a as _),
            SchemeId::Pmjay => self.pmjay.as_ref().map(|a| a as _),
            SchemeId::Pmjjby => self.pmjjby.as_ref().map(|a| a as _),
        };
        adapter.ok_or(Error::SchemeNotConfigured(id))
    }

    /// NCS, for its vacancies.
    pub fn ncs(&self) -> Result<&Ncs> {
        self.ncs
            .as_ref()
            .ok_or(Error::SchemeNotConfigured(SchemeId::Ncs))
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
    pub async fn catalogue(&self) -> Result<Arc<Vec<CatalogueEntry>>> {
        let Some(myscheme) = &self.myscheme else {
            return Err(Error::SchemeNotConfigured(SchemeId::Myscheme));
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

fn catalogue_unavailable() -> Error {
    Error::Scheme {
        scheme: SchemeId::Myscheme,
        error: AdapterError::Timeout {
            upstream: "myscheme".into(),
        },
    }
}

/// A scheme system and how the gateway's link to it is doing.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({
    "id": "pmsym", "name": "Pradhan Mantri Shram Yogi Maan-dhan (PM-SYM)",
    "ministry": "Ministry of Labour and Employment",
    "offers": "Pension of 3,000 rupees a month from age 60, contributions matched 50:50 by the Centre",
    "enrols": true, "health": "up", "circuit": "closed", "consecutive_failures": 0,
    "last_success_at": "2026-11-23T10:15:02Z", "last_failure_at": null, "last_sync_at": null
}))]
pub struct SchemeInfo {
    pub id: SchemeId,
    pub name: &'static str,
    pub ministry: &'static str,
    pub offers: &'static str,
    /// Whether `POST /v1/workers/{uan}/enrolments` takes this scheme.
    pub enrols: bool,
    /// `up` (last call succeeded), `degraded` (last call failed), `down` (circuit open),
    /// `unknown` (not called since the gateway started) or `not_configured` (no URL here: its
    /// routes answer 503 `scheme_not_configured`).
    #[schema(example = "up")]
    pub health: &'static str,
    /// `closed`, `open` or `half_open`; `none` when the scheme is not configured.
    #[schema(example = "closed")]
    pub circuit: &'static str,
    pub consecutive_failures: u32,
    pub last_success_at: Option<DateTime<Utc>>,
    pub last_failure_at: Option<DateTime<Utc>>,
    /// When the sync engine last pulled this scheme's changes (null until it has).
    pub last_sync_at: Option<DateTime<Utc>>,
}

#[derive(Serialize, ToSchema)]
#[schema(example = json!({"schemes": [{"id": "ncs", "name": "National Career Service",
    "ministry": "Ministry of Labour and Employment",
    "offers": "Job-seeker registration and vacancies by district and NCO occupation code",
    "enrols": true, "health": "up", "circuit": "closed", "consecutive_failures": 0,
    "last_success_at": "2026-12-01T20:37:26.719Z", "last_failure_at": null, "last_sync_at": null}]}))]
pub struct SchemeList {
    pub schemes: Vec<SchemeInfo>,
}

impl Registry {
    /// Every scheme with its link's health and the sync engine's last pull.
    pub async fn scheme_list(&self) -> Result<SchemeList> {
        let syncs = self.store.scheme_sync_states().await?;
        let schemes = SchemeId::ALL
            .into_iter()
            .map(|id| {
                let facts = id.facts();
                let Ok(adapter) = self.schemes.get(id) else {
                    return SchemeInfo {
                        id,
                        name: facts.name,
                        ministry: facts.ministry,
                        offers: facts.offers,
                        enrols: facts.enrols,
                        health: "not_configured",
                        circuit: "none",
                        consecutive_failures: 0,
                        last_success_at: None,
                        last_failure_at: None,
                        last_sync_at: None,
                    };
                };
                let h = adapter.upstream().health();
                let circuit = match h.circuit {
                    adapter_core::CircuitState::Closed => "closed",
                    adapter_core::CircuitState::Open => "open",
                    adapter_core::CircuitState::HalfOpen => "half_open",
                };
                let health = match (h.circuit, h.last_success_at, h.last_failure_at) {
                    (adapter_core::CircuitState::Open, _, _) => "down",
                    (_, None, None) => "unknown",
                    (_, Some(ok), Some(bad)) if bad > ok => "degraded",
                    (_, None, Some(_)) => "degraded",
                    _ => "up",
                };
                SchemeInfo {
                    id,
                    name: facts.name,
                    ministry: facts.ministry,
                    offers: facts.offers,
                    enrols: facts.enrols,
                    health,
                    circuit,
                    consecutive_failures: h.consecutive_failures,
                    last_success_at: h.last_success_at,
                    last_failure_at: h.last_failure_at,
                    last_sync_at: syncs
                        .iter()
                        .find(|s| s.scheme == id.as_str())
                        .and_then(|s| s.last_sync_at),
                }
            })
            .collect();
        Ok(SchemeList { schemes })
    }
}
