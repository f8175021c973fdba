//! `shramsetu sync --scheme S [--full]`: one sync run of a scheme, worked here, with its progress.
//! The run is queued like any other (a serving gateway asked at the same time works the same run,
//! never a second one); this process takes queued runs until its own has finished.

use std::sync::Arc;

use anyhow::{Result, bail};
use gateway::config::Settings;
use gateway::runtime;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::database::with_database;

#[derive(clap::Args)]
pub struct Args {
    /// `ncs`, `sidh`, `pmsym`, `pmjay` or `pmjjby`.
    #[arg(long)]
    scheme: String,
    /// From the feed's start instead of where the last run left it.
    #[arg(long)]
    full: bool,
}

pub fn run(settings: Settings, a: Args) -> Result<()> {
    gateway::telemetry::init_logging(settings.log.level_or("warn"), "text", std::io::stderr);
    let scheme = domain::schemes::SchemeId::parse(&a.scheme)
        .map_err(|e| anyhow::anyhow!("--scheme: {}", e.message))?;
    with_database(&settings.clone(), |url| async move {
        let store = runtime::open_store(&settings, &url).await?;
        let clock = Arc::new(gateway::clock::SystemClock);
        let built = runtime::build_registry(&settings, store, clock).await?;
        let registry = built.registry.clone();
        if let Some(index) = registry.matcher.index.clone() {
            let started = std::time::Instant::now();
            let workers = index.load(&registry.store).await?;
            eprintln!(
                "candidate index in memory: {workers} workers loaded in {:.1} s",
                started.elapsed().as_secs_f64()
            );
        }
        let engine = sync::Engine::new(
            registry.clone(),
            runtime::sync_owner(),
            runtime::sync_settings(&settings.sync)?,
        );
        let result = work(&engine, scheme, a.full).await;
        // The writer appends what is queued and pins the head in a checkpoint.
        registry.audit.close();
        drop(built);
        result
    })
}

async fn work(engine: &sync::Engine, scheme: domain::schemes::SchemeId, full: bool) -> Result<()> {
    let asked = engine
        .request(scheme, full, "shramsetu sync")
        .await
        .map_err(|e| anyhow::anyhow!("{scheme}: {e}"))?;
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    loop {
        let show = |p: &sync::Progress| {
            let secs = p.elapsed.as_secs_f64().max(1e-9);
            bar.set_message(format!(
                "{scheme}: {} pages, {} records, {} linked, {} queued, {} unregistered, {} errors, {:.0} records/s",
                p.pages,
                p.records,
                p.linked,
                p.queued,
                p.unregistered,
                p.errors,
                p.records as f64 / secs
            ));
            bar.tick();
        };
        let Some(run) = engine
            .work_once(show)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?
        else {
            // Another process holds the run: wait for it to finish.
            let now = engine
                .run(scheme, asked.id, 0)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?
                .0;
            if now.finished_at.is_some() {
                return report(&bar, &now);
            }
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            continue;
        };
        // Ours and finished; if another process took it over meanwhile, wait for that one.
        if run.id == asked.id && run.finished_at.is_some() {
            return report(&bar, &run);
        }
    }
}

fn report(bar: &ProgressBar, run: &store::sync::SyncRun) -> Result<()> {
    bar.finish_and_clear();
    let secs = match (run.started_at, run.finished_at) {
        (Some(s), Some(f)) => (f - s).num_milliseconds() as f64 / 1000.0,
        _ => 0.0,
    };
    eprintln!(
        "{} run {}: {}; {} pages, {} records ({:.0}/s), {} linked, {} queued for review, {} unregistered, {} errors, in {secs:.1} s",
        run.scheme,
        run.id,
        run.status,
        run.pages,
        run.records,
        run.records as f64 / secs.max(1e-9),
        run.linked,
        run.queued,
        run.unregistered,
        run.errors
    );
    // This process alone: the embedded cluster's shared buffers are not the engine's.
    eprintln!(
        "peak memory of the sync process: {}",
        crate::match_files::peak_memory()
    );
    if let Some(e) = &run.error {
        bail!("{}: {e}", run.scheme);
    }
    Ok(())
}
