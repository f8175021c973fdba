//! `shramsetu`: the gateway and its operations commands, one module per subcommand.

mod audit;
mod check;
mod clients;
mod common;
mod database;
mod import;
mod keys;
mod match_files;
mod matching;
mod openapi;
#[cfg(feature = "simulators")]
mod pull;
#[cfg(feature = "simulators")]
mod roll;
#[cfg(feature = "simulators")]
mod seed;
mod serve;
#[cfg(feature = "simulators")]
mod simulate;
mod sync_command;
mod token;

use anyhow::Result;
use clap::{Parser, Subcommand};
use gateway::config::Settings;

#[derive(Parser)]
#[command(
    name = "shramsetu",
    version,
    about = "Shram Setu: the e-Shram integration gateway"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API. Without DATABASE_URL, runs a local PostgreSQL cluster under ./var/pg.
    Serve(serve::Args),
    /// Apply pending database migrations and exit.
    Migrate,
    /// Check identifiers read one a line from stdin; prints `valid` or `invalid CODE` a line each.
    Check(check::Args),
    /// Manage OAuth2 clients (partner systems).
    Clients {
        #[command(subcommand)]
        command: clients::Command,
    },
    /// Print a signed access token to stdout (for ops and tests).
    Token(token::Args),
    /// The audit log.
    Audit {
        #[command(subcommand)]
        command: audit::Command,
    },
    /// Token signing keys.
    Keys {
        #[command(subcommand)]
        command: keys::KeysCommand,
    },
    /// The Aadhaar vault.
    Vault {
        #[command(subcommand)]
        command: keys::VaultCommand,
    },
    /// Print the OpenAPI document (what openapi/openapi.json holds).
    Openapi(openapi::Args),
    /// Link an incoming CSV file to a registry CSV file (canonical columns: id, full_name,
    /// gender, dob, mobile, state_code, district_code, pincode, relative_name, aadhaar_hash,
    /// address). Writes incoming_id, registry_id, score, decision.
    Match(matching::MatchArgs),
    /// Write a synthetic benchmark set for `match`: registry.csv, incoming.csv (70% of them
    /// registry people written again, with the noise real scheme databases carry) and truth.csv.
    MatchSet(matching::SetArgs),
    #[cfg(feature = "simulators")]
    /// Run the scheme simulators (NCS, SIDH, myScheme, PM-SYM, AB PM-JAY, PMJJBY), each under
    /// /<scheme> on one port, serving the demo population (seed 42) with optional fault knobs.
    Simulate(simulate::Args),
    #[cfg(feature = "simulators")]
    /// Pull every record of one scheme (or "all") through its adapter and report records per
    /// second. Uses [schemes] from the config; with no scheme URL, runs the simulators in-process.
    Pull(pull::Args),
    /// Push a state's roll (CSV or NDJSON, optionally .gz) to a gateway as one batch, wait for
    /// it, print the summary and write the error report beside the file. A re-run of the same
    /// file resumes the same batch.
    Import(import::Args),
    /// Sync a scheme now: pull its records since the last run (all with --full), match them
    /// against the registry, link, queue for review or keep as unregistered; prints progress.
    Sync(sync_command::Args),
    #[cfg(feature = "simulators")]
    /// Add synthetic workers to the registry (for demos and load tests).
    Seed(seed::Args),
    #[cfg(feature = "simulators")]
    /// Write a synthetic state roll as CSV in the columns `import` reads (to try a push).
    Roll(roll::Args),
}

// The matcher allocates millions of small strings; glibc's allocator spent a third of its time.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> Result<()> {
    let cli = Cli::parse();
    let settings = Settings::load().map_err(|e| anyhow::anyhow!("configuration: {e}"))?;
    match cli.command {
        Command::Serve(args) => serve::run(settings, args),
        Command::Migrate => database::migrate(settings),
        Command::Check(args) => check::run_stdio(args),
        Command::Clients { command } => clients::run(settings, command),
        Command::Token(args) => token::run(&settings, args),
        Command::Audit { command } => audit::run(settings, command),
        Command::Keys { command } => keys::keys(&settings, command),
        Command::Vault { command } => keys::vault(settings, command),
        Command::Openapi(args) => openapi::run(args),
        Command::Sync(args) => sync_command::run(settings, args),
        Command::Import(args) => import::run(args),
        Command::Match(args) => matching::run_match(args),
        Command::MatchSet(args) => matching::run_set(args),
        #[cfg(feature = "simulators")]
        Command::Simulate(args) => simulate::run(&settings, args),
        #[cfg(feature = "simulators")]
        Command::Pull(args) => pull::run(settings, args),
        #[cfg(feature = "simulators")]
        Command::Seed(args) => seed::run(settings, args),
        #[cfg(feature = "simulators")]
        Command::Roll(args) => roll::run(args),
    }
}
