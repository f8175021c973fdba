//! `shramsetu pull`: every record of one scheme (or all) through its adapter, timed.

use std::net::TcpListener;

use anyhow::{Result, bail};
use gateway::config::Settings;

use crate::common::{parse_faults, parse_schemes};

#[derive(clap::Args)]
pub struct Args {
    #[arg(long, default_value = "all")]
    scheme: String,
    #[arg(long, default_value_t = 500)]
    page_size: usize,
    /// In-process simulators: records per scheme.
    #[arg(long)]
    sim_records: Option<u64>,
    /// In-process simulators: fault knobs as JSON (see `simulate --faults`).
    #[arg(long)]
    sim_faults: Option<String>,
    /// Print the canonical records to stdout as NDJSON.
    #[arg(long)]
    ndjson: bool,
}

pub fn run(settings: Settings, a: Args) -> Result<()> {
    // The simulators' cut-off bodies make actix log errors: they are the knob working.
    gateway::telemetry::init_logging(
        settings.log.level_or("warn,actix_http::h1=off"),
        "text",
        std::io::stderr,
    );
    let schemes = parse_schemes(&a.scheme)?;
    let faults = parse_faults(a.sim_faults.as_deref())?;
    actix_web::rt::System::new().block_on(pull(
        settings,
        schemes,
        a.page_size,
        a.sim_records,
        faults,
        a.ndjson,
    ))
}

/// `shramsetu pull`: every record of each scheme through its adapter, timed.
async fn pull(
    mut settings: Settings,
    schemes: Vec<domain::schemes::SchemeId>,
    page_size: usize,
    sim_records: Option<u64>,
    faults: simulators::Faults,
    ndjson: bool,
) -> Result<()> {
    use std::io::Write;
    let local = if settings.schemes.needs_local_simulators() {
        let records = sim_records;
        let config = simulators::SimConfig {
            seed: settings.schemes.simulator_seed,
            population: settings
                .schemes
                .simulator_population
                .max(records.unwrap_or(0)),
            records,
            faults,
            workers: 1,
            ..Default::default()
        };
        let running = simulators::start(&config, &schemes, TcpListener::bind("127.0.0.1:0")?)?;
        settings.schemes.simulators_url = format!("http://{}", running.addr);
        Some(running)
    } else {
        None
    };
    let adapters = gateway::schemes::adapters(&settings.schemes, None)?;
    let mut out = std::io::stdout().lock();
    for id in schemes {
        let adapter = adapters.get(id)?;
        let started = std::time::Instant::now();
        let mut cursor: Option<adapter_core::Cursor> = None;
        let mut seen = std::collections::HashSet::new();
        let mut pages = 0u64;
        loop {
            let page = adapter
                .pull(cursor.as_ref(), page_size)
                .await
                .map_err(|e| anyhow::anyhow!("{id}: {e}"))?;
            pages += 1;
            for r in &page.records {
                if seen.insert((r.reference.clone(), r.updated_at)) && ndjson {
                    serde_json::to_writer(&mut out, r)?;
                    out.write_all(b"\n")?;
                }
            }
            if page.more && cursor.as_ref() == Some(&page.cursor) {
                bail!("{id}: the feed says more records follow but its cursor did not move");
            }
            cursor = Some(page.cursor);
            if !page.more {
                break;
            }
        }
        let secs = started.elapsed().as_secs_f64();
        let health = adapter.upstream().health();
        eprintln!(
            "{id}: {} records in {pages} pages, {secs:.2} s, {:.0} records/s; {} HTTP requests ({} retried)",
            seen.len(),
            seen.len() as f64 / secs.max(1e-9),
            health.requests,
            health.requests.saturating_sub(pages),
        );
    }
    if let Some(r) = local {
        r.handle.stop(false).await;
    }
    Ok(())
}
