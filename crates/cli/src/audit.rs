//! `shramsetu audit verify`: walk the audit log's hash chain and its signed checkpoints.

use anyhow::Result;
use gateway::config::Settings;
use gateway::keys::Keys;
use gateway::runtime;

use crate::database::with_database;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Walk the hash chain and check the signed checkpoints; names the first entry altered, removed
    /// or reordered, and a truncated tail. Exits 1 when the log is not intact.
    Verify,
}

pub fn run(settings: Settings, command: Command) -> Result<()> {
    let Command::Verify = command;
    gateway::telemetry::init_logging(settings.log.level_or("warn"), "text", std::io::stderr);
    with_database(&settings.clone(), |url| async move {
        let store = runtime::open_store(&settings, &url).await?;
        let keys = Keys::load_or_create(&settings.auth.keys_dir)?;
        let verdict = gateway::audit::verify(
            &store,
            &settings.audit.checkpoint_file,
            &keys.audit_public_hex(),
        )
        .await?;
        match verdict {
            gateway::audit::Verdict::Intact {
                entries,
                checkpoints,
            } => {
                println!(
                    "intact: {entries} entries, chain unbroken, {checkpoints} signed checkpoints match"
                );
                Ok(())
            }
            gateway::audit::Verdict::Broken(why) => {
                println!("NOT INTACT: {why}");
                std::process::exit(1);
            }
        }
    })
}
