//! `shramsetu token`: a signed access token on stdout, for ops and tests (no database needed).

use anyhow::{Result, bail};
use gateway::config::Settings;
use gateway::keys::Keys;
use gateway::runtime;

use crate::common::{known_purposes, parse_scopes, parse_states};

#[derive(clap::Args)]
pub struct Args {
    #[arg(long)]
    client_id: String,
    /// Scopes separated by spaces or commas, e.g. "workers:read workers:write" or workers:read,workers:write.
    #[arg(long)]
    scopes: String,
    /// Comma-separated LGD state codes the token is limited to (default: every state).
    #[arg(long)]
    states: Option<String>,
    /// Lifetime in seconds (default: auth.token_ttl_secs).
    #[arg(long)]
    ttl_secs: Option<u64>,
    /// The purpose the token serves; decides which worker fields it sees.
    #[arg(long, default_value = "operations")]
    purpose: String,
}

pub fn run(settings: &Settings, args: Args) -> Result<()> {
    let scopes = parse_scopes(&args.scopes)?;
    let states = parse_states(args.states.as_deref())?;
    // Made here when missing, so the first token of a fresh checkout signs with the key `serve` uses.
    drop(Keys::load_or_create(&settings.auth.keys_dir)?);
    if !settings.purposes.contains_key(&args.purpose) {
        bail!(
            "--purpose: {:?} is not configured; known: {}",
            args.purpose,
            known_purposes(settings)
        );
    }
    let tokens = runtime::tokens(settings)?;
    let ttl = args.ttl_secs.unwrap_or(settings.auth.token_ttl_secs);
    if ttl > settings.auth.max_token_ttl_secs {
        bail!(
            "--ttl-secs: at most auth.max_token_ttl_secs ({})",
            settings.auth.max_token_ttl_secs
        );
    }
    let now = jsonwebtoken::get_current_timestamp();
    println!(
        "{}",
        tokens.issue(
            &args.client_id,
            &scopes,
            states.as_deref(),
            &args.purpose,
            ttl,
            now
        )?
    );
    Ok(())
}
