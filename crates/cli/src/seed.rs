//! `shramsetu seed`: synthetic workers into the registry, for demos and load tests.

use anyhow::Result;
use gateway::config::Settings;
use gateway::keys::Keys;
use gateway::runtime;

use crate::database::with_database;

#[derive(clap::Args)]
pub struct Args {
    #[arg(long, default_value_t = 1000)]
    count: u64,
    /// Population seed: the same seed gives the same people.
    #[arg(long, default_value_t = 42)]
    seed: u64,
}

pub fn run(settings: Settings, args: Args) -> Result<()> {
    gateway::telemetry::init_logging(
        settings.log.level_or(&settings.log.level),
        "text",
        std::io::stderr,
    );
    with_database(&settings.clone(), |url| async move {
        let store = runtime::open_store(&settings, &url).await?;
        let keys = Keys::load_or_create(&settings.auth.keys_dir)?;
        let started = std::time::Instant::now();
        let n = gateway::demo::seed(&store, &keys, args.seed, args.count).await?;
        let secs = started.elapsed().as_secs_f64();
        eprintln!(
            "Seeded {n} workers in {secs:.1} s ({:.0} rows/s).",
            n as f64 / secs
        );
        Ok(())
    })
}
