//! `shramsetu openapi [--check FILE]`: the OpenAPI document, as `openapi/openapi.json` holds it.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};

#[derive(clap::Args)]
pub struct Args {
    /// Instead of printing, compare with this file and fail when it differs.
    #[arg(long)]
    check: Option<PathBuf>,
}

pub fn run(args: Args) -> Result<()> {
    let doc = gateway::app::openapi_json();
    let Some(path) = args.check else {
        print!("{doc}");
        return Ok(());
    };
    let committed =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    if committed != doc {
        bail!(
            "{} is out of date with the code: regenerate it with `cargo run -q -p shramsetu -- openapi > {}` and commit it",
            path.display(),
            path.display()
        );
    }
    eprintln!("{} matches the code.", path.display());
    Ok(())
}
