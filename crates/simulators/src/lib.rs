//! A fake of each scheme's API, for the demo, development and tests: `shramsetu simulate`, and
//! in-process under `shramsetu serve` when no scheme URL is configured.
//!
//! The six differ the way real systems do:
//!
//! | scheme | paging | format | auth |
//! |---|---|---|---|
//! | NCS (`/ncs`) | page numbers | JSON | API key `X-API-Key` |
//! | SIDH (`/sidh`) | opaque cursor | JSON (camelCase, `DD-MM-YYYY` dates) | API Setu keys `X-APISETU-APIKEY` + `X-APISETU-CLIENTID` |
//! | myScheme (`/myscheme`) | offset | JSON | API key `X-Api-Key` |
//! | PM-SYM (`/pmsym`) | `since` timestamp + last id | JSON | OAuth2 client credentials; pushes changes by webhook |
//! | AB PM-JAY (`/pmjay`) | opaque cursor in `X-Next-Cursor` | CSV | HMAC-signed requests |
//! | PMJJBY (`/pmjjby`) | `modified_after` millis + last id | JSON | HMAC-signed requests |
//!
//! Every record is a person of the shared population (`population::held_elsewhere`): the demo
//! registry holds the first `registry_size` people of the same seed, so matching is real work.
//! Records are computed from their index, so a scheme of 100,000 records costs no memory.
//! Fault knobs ([`Faults`]) per scheme: error rate, latency, 429 bursts with `Retry-After`,
//! truncated and malformed bodies, duplicated and out-of-order records.

mod common;
pub mod myscheme;
pub mod ncs;
pub mod pmjay;
pub mod pmjjby;
pub mod pmsym;
pub mod sidh;
pub mod terms;

pub use common::{Credentials, Faults, Sim, SimConfig};

use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;

use actix_web::{App, HttpServer, web};
use domain::schemes::SchemeId;

/// Running simulators: one HTTP server, each scheme under `/{scheme}`.
pub struct Running {
    pub addr: SocketAddr,
    pub handle: actix_web::dev::ServerHandle,
    pub sims: BTreeMap<SchemeId, Arc<Sim>>,
}

impl Running {
    /// The base URL of one scheme's simulator.
    pub fn base_url(&self, scheme: SchemeId) -> String {
        format!("http://{}/{}", self.addr, scheme.as_str())
    }

    pub fn sim(&self, scheme: SchemeId) -> &Arc<Sim> {
        &self.sims[&scheme]
    }
}

/// Starts the simulators of `schemes` on `listener`, served by a task of the current actix system
/// (call it from inside one: `actix_web::rt::System`, `#[actix_web::main]` or `#[actix_web::test]`).
pub fn start(
    config: &SimConfig,
    schemes: &[SchemeId],
    listener: TcpListener,
) -> std::io::Result<Running> {
    let sims: BTreeMap<SchemeId, Arc<Sim>> = schemes
        .iter()
        .map(|s| (*s, Arc::new(Sim::new(*s, config))))
        .collect();
    let addr = listener.local_addr()?;
    let mounted = sims.clone();
    let server = HttpServer::new(move || {
        let mut app = App::new();
        for (scheme, sim) in &mounted {
            let scope = web::scope(&format!("/{}", scheme.as_str()))
                .app_data(web::Data::from(sim.clone()))
                .configure(common::admin);
            app = app.service(match scheme {
                SchemeId::Ncs => scope.configure(ncs::routes),
                SchemeId::Sidh => scope.configure(sidh::routes),
                SchemeId::Myscheme => scope.configure(myscheme::routes),
                SchemeId::Pmsym => scope.configure(pmsym::routes),
                SchemeId::Pmjay => scope.configure(pmjay::routes),
                SchemeId::Pmjjby => scope.configure(pmjjby::routes),
            });
        }
        app
    })
    .workers(config.workers.max(1))
    .disable_signals()
    .shutdown_timeout(1)
    .listen(listener)?
    .run();
    let handle = server.handle();
    actix_web::rt::spawn(server);
    Ok(Running { addr, handle, sims })
}

/// How to reach one scheme's simulator: its base URL and the auth it expects (the demo
/// credentials), with the client defaults otherwise.
pub fn upstream_config(
    scheme: SchemeId,
    base_url: &str,
    c: &Credentials,
) -> adapter_core::UpstreamConfig {
    use adapter_core::AuthConfig;
    let headers = |pairs: &[(&str, &str)]| AuthConfig::ApiKey {
        headers: pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    };
    let auth = match scheme {
        SchemeId::Ncs => headers(&[("X-API-Key", &c.ncs_api_key)]),
        SchemeId::Sidh => headers(&[
            ("X-APISETU-APIKEY", &c.sidh_api_key),
            ("X-APISETU-CLIENTID", &c.sidh_client_id),
        ]),
        SchemeId::Myscheme => headers(&[("X-Api-Key", &c.myscheme_api_key)]),
        SchemeId::Pmsym => AuthConfig::Oauth2 {
            token_url: "/oauth/token".into(),
            client_id: c.pmsym_client_id.clone(),
            client_secret: c.pmsym_client_secret.clone(),
            scope: String::new(),
        },
        SchemeId::Pmjay => AuthConfig::Hmac {
            key_id: c.pmjay_key_id.clone(),
            secret: c.pmjay_secret.clone(),
        },
        SchemeId::Pmjjby => AuthConfig::Hmac {
            key_id: c.pmjjby_key_id.clone(),
            secret: c.pmjjby_secret.clone(),
        },
    };
    adapter_core::UpstreamConfig {
        base_url: base_url.to_owned(),
        auth,
        ..Default::default()
    }
}
