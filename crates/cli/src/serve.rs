//! `shramsetu serve [--demo]`: the gateway.

use std::net::TcpListener;

use anyhow::{Context, Result};
use gateway::config::Settings;
use gateway::runtime;

use crate::database::with_database;

#[derive(clap::Args)]
pub struct Args {
    /// Address to listen on (default: server.bind from config, 127.0.0.1:8080).
    #[arg(long)]
    bind: Option<String>,
    /// Seed synthetic workers into an empty registry.
    #[arg(long)]
    demo: bool,
}

pub fn run(mut settings: Settings, args: Args) -> Result<()> {
    if let Some(bind) = args.bind {
        settings.server.bind = bind;
    }
    if args.demo {
        if settings.server.environment == gateway::config::Environment::Production {
            anyhow::bail!(
                "--demo is refused in production: it seeds fake workers and runs fake schemes"
            );
        }
        // The demo's schemes: simulators for every scheme with no URL, each synced every 10 minutes.
        settings.sync.every_scheme("10m");
        // The demo's schemes: simulators for every scheme with no URL.
        settings.schemes.allow_local_simulators = true;
        // The demo registry is small: its candidates are looked up in memory.
        settings.matching.index = gateway::config::IndexKind::Memory;
    }
    gateway::telemetry::init_logging(
        settings.log.level_or(&settings.log.level),
        &settings.log.format,
        std::io::stdout,
    );
    with_database(&settings.clone(), |url| serve(settings, url, args.demo))
}

async fn serve(settings: Settings, url: String, demo: bool) -> Result<()> {
    let store = runtime::open_store(&settings, &url).await?;
    if demo {
        seed_demo(&settings, &store).await?;
    }
    let listener = TcpListener::bind(&settings.server.bind)
        .with_context(|| format!("binding {}", settings.server.bind))?;
    let running = runtime::start(&settings, store, listener).await?;
    // The hint names this very binary, so it works pasted whether it came from `cargo run` or not.
    let me = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "shramsetu".into());
    tracing::info!(
        addr = %running.addr,
        docs = %format!("http://{}/docs/", running.addr),
        token = %format!("TOKEN=$({me} token --client-id demo --scopes workers:read,workers:write)"),
        "Shram Setu gateway serving. Get a token as the `token` field says, from this directory."
    );
    running.server.await?;
    running.state.registry.audit.close();
    tracing::info!("Gateway stopped.");
    Ok(())
}

/// The demo registry: synthetic workers into an empty one.
#[cfg(feature = "simulators")]
async fn seed_demo(settings: &Settings, store: &store::Store) -> Result<()> {
    let keys = gateway::keys::Keys::load_or_create(&settings.auth.keys_dir)?;
    if store.count_workers().await? == 0 {
        let n = gateway::demo::seed(store, &keys, 42, gateway::demo::DEMO_WORKERS).await?;
        tracing::info!(workers = n, "Seeded the demo registry.");
    }
    Ok(())
}

#[cfg(not(feature = "simulators"))]
async fn seed_demo(_: &Settings, _: &store::Store) -> Result<()> {
    anyhow::bail!(
        "--demo: this build has no demo data or simulators (built without the `simulators` feature)"
    )
}
