//! `shramsetu match` (link one CSV file to another) and `shramsetu match-set` (a synthetic set).

use std::path::PathBuf;

use anyhow::{Result, bail};

use crate::match_files;

#[derive(clap::Args)]
pub struct MatchArgs {
    #[arg(long)]
    registry: PathBuf,
    #[arg(long)]
    incoming: PathBuf,
    #[arg(long)]
    out: PathBuf,
    /// A fitted model to use; with --train, where to write the model trained on these files.
    #[arg(long)]
    model: Option<PathBuf>,
    /// Train the model on these files (always done when no --model is given).
    #[arg(long)]
    train: bool,
    /// Add an `explanation` column: each field's comparison level and weight.
    #[arg(long)]
    explain: bool,
    /// A CSV of true pairs (incoming_id, registry_id): prints precision, recall and F1.
    #[arg(long)]
    truth: Option<PathBuf>,
    /// Match probability at or above which a pair is linked.
    #[arg(long, default_value_t = 0.5)]
    link_threshold: f64,
    /// Match probability at or above which a pair is kept for review.
    #[arg(long, default_value_t = 0.2)]
    review_threshold: f64,
    /// Allow several incoming records to link to one registry record.
    #[arg(long)]
    many_to_one: bool,
}

#[derive(clap::Args)]
pub struct SetArgs {
    #[arg(long, default_value_t = 20_000)]
    registry_size: usize,
    #[arg(long, default_value_t = 5_000)]
    incoming_size: usize,
    #[arg(long, default_value_t = 42)]
    seed: u64,
    #[arg(long)]
    out: PathBuf,
}

pub fn run_match(a: MatchArgs) -> Result<()> {
    if !(0.0..=1.0).contains(&a.link_threshold)
        || !(0.0..=a.link_threshold).contains(&a.review_threshold)
    {
        bail!("--review-threshold and --link-threshold: 0 <= review <= link <= 1");
    }
    match_files::run(match_files::MatchArgs {
        registry: a.registry,
        incoming: a.incoming,
        out: a.out,
        model: a.model,
        train: a.train,
        explain: a.explain,
        truth: a.truth,
        options: matching::Options {
            link: a.link_threshold,
            review: a.review_threshold,
            one_to_one: !a.many_to_one,
            ..matching::Options::default()
        },
    })
}

pub fn run_set(a: SetArgs) -> Result<()> {
    match_files::write_set(&a.out, a.registry_size, a.incoming_size, a.seed)
}
