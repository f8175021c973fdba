//! `shramsetu clients add | set-rate`: partner systems and their request rates.

use anyhow::{Context, Result, bail};
use gateway::auth::{hash_client_secret, new_client_secret};
use gateway::config::Settings;
use gateway::runtime;

use crate::common::{known_purposes, parse_scopes, parse_states};
use crate::database::with_database;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Register a client; prints its secret once.
    Add {
        #[arg(long)]
        id: String,
        /// Scopes the client may request, separated by spaces or commas.
        #[arg(long)]
        scopes: String,
        /// Comma-separated LGD state codes the client is limited to (default: every state).
        #[arg(long)]
        states: Option<String>,
        /// Space-separated purposes the client may put in its tokens; the first is its default.
        #[arg(long, default_value = "operations")]
        purposes: String,
        /// The client's own request rate (default: limits.rate_limit_rps).
        #[arg(long)]
        rate_limit_rps: Option<u32>,
    },
    /// Change a client's own request rate. Serving gateways apply it within
    /// limits.client_refresh_secs, with no restart.
    SetRate {
        #[arg(long)]
        id: String,
        /// Requests per second.
        #[arg(long, required_unless_present = "default", conflicts_with = "default")]
        rate_limit_rps: Option<u32>,
        /// Back to the configured default (limits.rate_limit_rps).
        #[arg(long)]
        default: bool,
    },
}

pub fn run(settings: Settings, command: Command) -> Result<()> {
    match command {
        Command::Add {
            id,
            scopes,
            states,
            purposes,
            rate_limit_rps,
        } => add(settings, id, scopes, states, purposes, rate_limit_rps),
        Command::SetRate {
            id,
            rate_limit_rps,
            default: _,
        } => set_rate(settings, id, rate_limit_rps),
    }
}

/// `--rate-limit-rps` as stored: 1 or more.
fn rate(rps: u32) -> Result<i32> {
    i32::try_from(rps)
        .ok()
        .filter(|r| *r > 0)
        .context("--rate-limit-rps: 1 to 2147483647")
}

fn add(
    settings: Settings,
    id: String,
    scopes: String,
    states: Option<String>,
    purposes: String,
    rate_limit_rps: Option<u32>,
) -> Result<()> {
    let purposes: Vec<String> = purposes.split_whitespace().map(str::to_owned).collect();
    if purposes.is_empty() {
        bail!("--purposes: at least one");
    }
    if let Some(bad) = purposes
        .iter()
        .find(|p| !settings.purposes.contains_key(*p))
    {
        bail!(
            "--purposes: {bad:?} is not configured; known: {}",
            known_purposes(&settings)
        );
    }
    let rate_limit_rps = rate_limit_rps.map(rate).transpose()?;
    gateway::telemetry::init_logging(settings.log.level_or("warn"), "text", std::io::stderr);
    let scopes = parse_scopes(&scopes)?;
    let states = parse_states(states.as_deref())?;
    if id.is_empty()
        || id.len() > 100
        || !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
    {
        bail!("--id: 1-100 letters, digits, '-', '_' or '.'");
    }
    with_database(&settings.clone(), |url| async move {
        let store = runtime::open_store(&settings, &url).await?;
        let secret = new_client_secret()?;
        let client = store::Client {
            client_id: id.clone(),
            secret_hash: hash_client_secret(&secret),
            scopes,
            states,
            purposes,
            rate_limit_rps,
            enabled: true,
        };
        if !store.add_client(&client).await? {
            bail!("a client with id {id} already exists");
        }
        eprintln!("Client {id} added. Its secret is shown once; store it safely:");
        println!("{secret}");
        Ok(())
    })
}

fn set_rate(settings: Settings, id: String, rate_limit_rps: Option<u32>) -> Result<()> {
    let rps = rate_limit_rps.map(rate).transpose()?;
    gateway::telemetry::init_logging(settings.log.level_or("warn"), "text", std::io::stderr);
    with_database(&settings.clone(), |url| async move {
        let store = runtime::open_store(&settings, &url).await?;
        if !store.set_client_rate(&id, rps).await? {
            bail!("--id: no client {id}");
        }
        match rps {
            Some(rps) => eprintln!("Client {id}: {rps} requests a second."),
            None => {
                eprintln!(
                    "Client {id}: the serving gateways' default rate (limits.rate_limit_rps)."
                )
            }
        }
        eprintln!(
            "Serving gateways apply it within {} s.",
            settings.limits.client_refresh_secs
        );
        Ok(())
    })
}
