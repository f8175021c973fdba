//! `shramsetu simulate`: the scheme simulators on one port, each under `/<scheme>`.

use std::net::TcpListener;

use anyhow::{Context, Result};
use gateway::config::Settings;

use crate::common::{parse_faults, parse_schemes};

#[derive(clap::Args)]
pub struct Args {
    /// One scheme (ncs, sidh, myscheme, pmsym, pmjay, pmjjby) or "all".
    #[arg(long, default_value = "all")]
    scheme: String,
    #[arg(long, default_value = "127.0.0.1:8090")]
    bind: String,
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// People in the world; the demo registry holds the first 2,000.
    #[arg(long, default_value_t = 2500)]
    population: u64,
    /// Records per scheme (default: each scheme's share of the population).
    #[arg(long)]
    records: Option<u64>,
    /// Fault knobs as JSON, e.g. '{"error_rate":0.05,"latency_ms":50}' (also settable at
    /// PUT /<scheme>/_sim/faults).
    #[arg(long)]
    faults: Option<String>,
    /// Where PM-SYM posts its change events (HMAC-signed).
    #[arg(long, default_value = "")]
    webhook_url: String,
}

pub fn run(settings: &Settings, a: Args) -> Result<()> {
    gateway::telemetry::init_logging(
        settings.log.level_or(&settings.log.level),
        &settings.log.format,
        std::io::stderr,
    );
    let config = simulators::SimConfig {
        seed: a.seed,
        population: a.population.max(a.records.unwrap_or(0)),
        records: a.records,
        faults: parse_faults(a.faults.as_deref())?,
        webhook_url: a.webhook_url,
        workers: 2,
        ..Default::default()
    };
    let schemes = parse_schemes(&a.scheme)?;
    let bind = a.bind;
    actix_web::rt::System::new().block_on(async move {
        let listener = TcpListener::bind(&bind).with_context(|| format!("binding {bind}"))?;
        let running = simulators::start(&config, &schemes, listener)?;
        for s in &schemes {
            tracing::info!(scheme = %s, url = %running.base_url(*s), "Simulator serving.");
        }
        tokio::signal::ctrl_c().await?;
        running.handle.stop(true).await;
        Ok(())
    })
}
