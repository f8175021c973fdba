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
    /// Load this roll (CSV in the columns `import` reads) instead, by binary COPY: each row
    /// checked by the registration rules, its Aadhaar number tokenised and sealed, no audit
    /// entry, no per-row idempotency (the benchmark's ceiling for a batch). Rows the rules refuse
    /// are left out and counted; an Aadhaar number registered already fails the load.
    #[arg(long)]
    from_csv: Option<std::path::PathBuf>,
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
        let n = match &args.from_csv {
            Some(path) => load_roll(&store, &keys, path).await?,
            None => gateway::demo::seed(&store, &keys, args.seed, args.count).await?,
        };
        let secs = started.elapsed().as_secs_f64();
        eprintln!(
            "Seeded {n} workers in {secs:.1} s ({:.0} rows/s).",
            n as f64 / secs
        );
        Ok(())
    })
}

/// A roll's rows into the registry by binary COPY, 10,000 to a transaction.
async fn load_roll(store: &store::Store, keys: &Keys, path: &std::path::Path) -> Result<u64> {
    use batches::columns;
    use batches::read::{Charset, Format, read_rows};
    keys.check_against(store).await?;
    let today = chrono::Utc::now().date_naive();
    let file = std::fs::File::open(path)?;
    let gzip = path.extension().is_some_and(|e| e == "gz");
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<domain::NewWorker>>(2);
    let reader = tokio::task::spawn_blocking(move || -> Result<u64> {
        let mut group = Vec::with_capacity(10_000);
        let mut bad = 0u64;
        read_rows(
            std::io::BufReader::new(file),
            gzip,
            Format::Csv,
            Charset::Utf8,
            u64::MAX,
            u64::MAX,
            |mut row| {
                let digits = row.fields.remove(columns::AADHAAR).unwrap_or_default();
                let new = columns::registration(&row.fields, &digits)
                    .ok()
                    .and_then(|r| domain::NewWorker::validate(&r, today).ok());
                let Some(new) = new.filter(|_| row.errors.is_empty()) else {
                    bad += 1;
                    return true;
                };
                group.push(new);
                if group.len() == 10_000 {
                    return tx.blocking_send(std::mem::take(&mut group)).is_ok();
                }
                true
            },
        )
        .map_err(|e| anyhow::anyhow!("reading the roll: {e:?}"))?;
        if !group.is_empty() {
            let _ = tx.blocking_send(group);
        }
        Ok(bad)
    });
    let seal = |w: &domain::NewWorker, uan: &domain::Uan| {
        keys.vault.seal(&w.aadhaar, uan, gateway::keys::nonce())
    };
    let mut done = 0;
    while let Some(group) = rx.recv().await {
        let group: Vec<_> = group
            .into_iter()
            .map(|w| {
                let t = keys.token.token(&w.aadhaar);
                (w, t)
            })
            .collect();
        done += store.insert_workers_bulk(&group, &seal).await?;
    }
    let bad = reader.await??;
    if bad > 0 {
        eprintln!("{bad} rows of the roll refused by the registration rules, left out.");
    }
    store.after_bulk_load().await?;
    Ok(done)
}
