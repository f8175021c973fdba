//! Running a command against the database, and `shramsetu migrate`.

use anyhow::Result;
use gateway::config::Settings;
use gateway::runtime::{self, Database};

/// Opens the database (starting the local cluster if needed), runs `f` on a Tokio runtime, and stops
/// the cluster afterwards. The runtime is built here, after the cluster's `postgres` was started
/// from this (main) thread, so the server's lifetime is tied to the process.
pub fn with_database<F, Fut>(settings: &Settings, f: F) -> Result<()>
where
    F: FnOnce(String) -> Fut,
    Fut: std::future::Future<Output = Result<()>>,
{
    let db = Database::open(settings)?;
    let result = actix_web::rt::System::new().block_on(f(db.url.clone()));
    drop(db);
    result
}

/// `shramsetu migrate`: apply pending migrations and exit.
pub fn migrate(settings: Settings) -> Result<()> {
    gateway::telemetry::init_logging(
        settings.log.level_or(&settings.log.level),
        "text",
        std::io::stderr,
    );
    with_database(&settings.clone(), |url| async move {
        runtime::open_store(&settings, &url).await?;
        eprintln!("Migrations applied.");
        Ok(())
    })
}
