//! The six scheme adapters built from `[schemes.*]`, pointed at the simulators when a scheme has
//! no URL of its own and simulators were asked for; a scheme with neither is not configured.

use std::time::Duration;

use adapter_core::{AdapterError, SchemeId};
use adapter_myscheme::MyScheme;
use adapter_ncs::Ncs;
use adapter_pmjay::Pmjay;
use adapter_pmjjby::Pmjjby;
use adapter_pmsym::Pmsym;
use adapter_sidh::Sidh;
use registry::schemes::AdapterSet;
pub use registry::schemes::Adapters;

use crate::config;

/// The adapters of `s`. `simulators` is the base URL of running simulators, for schemes with
/// no `base_url` (their demo credentials are used unless the scheme's auth is configured).
pub fn adapters(s: &config::Schemes, simulators: Option<&str>) -> anyhow::Result<Adapters> {
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
    Ok(Adapters::new(
        AdapterSet {
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
        },
        Duration::from_secs(s.catalogue_cache_secs),
    ))
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
