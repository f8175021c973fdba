//! Argument parsing shared by several subcommands.

use anyhow::{Result, bail};
use domain::StateCode;
use gateway::auth::SCOPES;
use gateway::config::Settings;

/// Scopes separated by spaces or commas (`--scopes workers:read,workers:write` needs no quoting).
pub fn parse_scopes(s: &str) -> Result<Vec<String>> {
    let scopes: Vec<String> = s
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    if let Some(bad) = scopes.iter().find(|s| !SCOPES.contains(&s.as_str())) {
        bail!(
            "--scopes: unknown scope {bad:?}; known: {}",
            SCOPES.join(" ")
        );
    }
    Ok(scopes)
}

/// Comma-separated LGD state codes.
pub fn parse_states(s: Option<&str>) -> Result<Option<Vec<String>>> {
    s.map(|s| {
        s.split(',')
            .map(|c| {
                StateCode::parse(c.trim())
                    .map(|st| st.code().to_owned())
                    .map_err(|e| anyhow::anyhow!("--states: {c:?}: {e}"))
            })
            .collect()
    })
    .transpose()
}

pub fn known_purposes(settings: &Settings) -> String {
    settings
        .purposes
        .keys()
        .cloned()
        .collect::<Vec<_>>()
        .join(", ")
}

/// `--scheme`: one id, a comma-separated list, or `all`.
#[cfg(feature = "simulators")]
pub fn parse_schemes(s: &str) -> Result<Vec<domain::schemes::SchemeId>> {
    use domain::schemes::SchemeId;
    if s == "all" {
        return Ok(SchemeId::ALL.to_vec());
    }
    s.split(',')
        .map(|one| SchemeId::parse(one.trim()).map_err(|e| anyhow::anyhow!("--scheme {one}: {e}")))
        .collect()
}

/// Fault knobs for the simulators, as JSON.
#[cfg(feature = "simulators")]
pub fn parse_faults(s: Option<&str>) -> Result<simulators::Faults> {
    match s {
        None => Ok(Default::default()),
        Some(json) => anyhow::Context::context(serde_json::from_str(json), "fault knobs (JSON)"),
    }
}
