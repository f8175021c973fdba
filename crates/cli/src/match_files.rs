//! `shramsetu match`: links an incoming CSV file to a registry CSV file with the matching engine.
//! Bad rows are reported on stderr with their line numbers and skipped; a labelled truth file,
//! when given, yields precision, recall and F1 of the `link` decisions.

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use matching::{Model, Options, Prepared, Record, Registry, Verdict};
use rayon::prelude::*;

/// What `shramsetu match` was asked to do.
pub struct MatchArgs {
    pub registry: PathBuf,
    pub incoming: PathBuf,
    pub out: PathBuf,
    pub model: Option<PathBuf>,
    pub train: bool,
    pub explain: bool,
    pub truth: Option<PathBuf>,
    pub options: Options,
}

/// The columns of the canonical schema, in output order.
const COLUMNS: [&str; 11] = [
    "id",
    "full_name",
    "gender",
    "dob",
    "mobile",
    "state_code",
    "district_code",
    "pincode",
    "relative_name",
    "aadhaar_hash",
    "address",
];

pub fn run(args: MatchArgs) -> Result<()> {
    let started = Instant::now();
    // The registry is prepared chunk by chunk as it is read: only its ids and prepared forms are
    // needed, never every raw row at once.
    let (mut ids, mut prepared) = (Vec::new(), Vec::new());
    for_each_chunk(&args.registry, 100_000, |chunk| {
        prepared.par_extend(chunk.par_iter().map(Prepared::new));
        ids.extend(chunk.into_iter().map(|r| r.id));
    })?;
    let incoming_rows = read_records(&args.incoming)?;
    eprintln!(
        "Read {} registry and {} incoming records.",
        ids.len(),
        incoming_rows.len()
    );
    let read = started.elapsed();
    let registry = Registry::from_prepared(ids, prepared);
    let incoming: Vec<Prepared> = incoming_rows.par_iter().map(Prepared::new).collect();
    let indexed = started.elapsed();
    let model = match (&args.model, args.train) {
        (Some(path), false) => Model::from_json(
            &std::fs::read_to_string(path)
                .with_context(|| format!("--model: reading {}", path.display()))?,
        )
        .with_context(|| format!("--model: {}", path.display()))?,
        (path, _) => {
            let model = matching::train(&registry, &incoming, &args.options, 500_000, 10_000, 7);
            if let Some(path) = path {
                std::fs::write(path, model.to_json())
                    .with_context(|| format!("--model: writing {}", path.display()))?;
                eprintln!("Trained model written to {}.", path.display());
            }
            model
        }
    };
    let trained = started.elapsed();
    let bar = progress(incoming.len() as u64);
    let decisions = matching::link(&registry, &incoming, &model, &args.options, &|n| {
        bar.inc(n as u64)
    });
    bar.finish_and_clear();
    let linked = started.elapsed();
    eprintln!(
        "Read {:.1} s, prepared and indexed {:.1} s, model {:.1} s, linked {:.1} s.",
        read.as_secs_f64(),
        (indexed - read).as_secs_f64(),
        (trained - indexed).as_secs_f64(),
        (linked - trained).as_secs_f64()
    );

    let mut out = csv::Writer::from_path(&args.out)
        .with_context(|| format!("--out: {}", args.out.display()))?;
    let mut header = vec!["incoming_id", "registry_id", "score", "decision"];
    if args.explain {
        header.push("explanation");
    }
    out.write_record(&header)?;
    for d in &decisions {
        let mut row = vec![
            incoming_rows[d.incoming].id.clone(),
            registry.ids[d.registry].clone(),
            format!("{:.6}", d.probability),
            match d.decision {
                Verdict::Link => "link".to_owned(),
                Verdict::Review => "review".to_owned(),
            },
        ];
        if args.explain {
            let why = matching::explain(&registry, &model, &incoming[d.incoming], d.registry);
            row.push(serde_json::to_string(&why)?);
        }
        out.write_record(&row)?;
    }
    out.flush()?;
    let links = decisions
        .iter()
        .filter(|d| d.decision == Verdict::Link)
        .count();
    eprintln!(
        "{links} links and {} for review written to {} in {:.1} s (peak memory {}).",
        decisions.len() - links,
        args.out.display(),
        started.elapsed().as_secs_f64(),
        peak_memory()
    );
    if let Some(truth) = &args.truth {
        let truth = read_truth(truth)?;
        let found: HashSet<(String, String)> = decisions
            .iter()
            .filter(|d| d.decision == Verdict::Link)
            .map(|d| {
                (
                    incoming_rows[d.incoming].id.clone(),
                    registry.ids[d.registry].clone(),
                )
            })
            .collect();
        let linked =
            |t: &(String, String, Vec<String>)| found.contains(&(t.0.clone(), t.1.clone()));
        let tp = truth.iter().filter(|t| linked(t)).count() as f64;
        let precision = if found.is_empty() {
            0.0
        } else {
            tp / found.len() as f64
        };
        let recall = if truth.is_empty() {
            0.0
        } else {
            tp / truth.len() as f64
        };
        let f1 = if precision + recall > 0.0 {
            2.0 * precision * recall / (precision + recall)
        } else {
            0.0
        };
        eprintln!(
            "Against the truth file: precision {precision:.4}, recall {recall:.4}, F1 {f1:.4} ({tp} of {} true pairs linked, {} links).",
            truth.len(),
            found.len()
        );
        let mut slices: Vec<&String> = truth.iter().flat_map(|t| &t.2).collect();
        slices.sort();
        slices.dedup();
        for slice in slices {
            let of: Vec<_> = truth.iter().filter(|t| t.2.contains(slice)).collect();
            let hit = of.iter().filter(|t| linked(t)).count();
            eprintln!(
                "  recall where {slice}: {:.4} ({hit} of {})",
                hit as f64 / of.len() as f64,
                of.len()
            );
        }
    }
    Ok(())
}

/// Reads a CSV file in the canonical schema by header names. Rows with the wrong number of
/// columns or a date that is not `YYYY-MM-DD` are reported on stderr and skipped.
pub fn read_records(path: &Path) -> Result<Vec<Record>> {
    let mut all = Vec::new();
    for_each_chunk(path, usize::MAX, |chunk| all.extend(chunk))?;
    Ok(all)
}

/// Reads the file as [`read_records`] does, handing over the good rows `chunk` at a time.
fn for_each_chunk(path: &Path, chunk: usize, mut take: impl FnMut(Vec<Record>)) -> Result<()> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(path)
        .with_context(|| format!("reading {}", path.display()))?;
    let headers = reader
        .headers()
        .with_context(|| format!("{}: no header line", path.display()))?
        .clone();
    let column = |name: &str| {
        headers
            .iter()
            .position(|h| h.trim().eq_ignore_ascii_case(name))
    };
    let positions: Vec<Option<usize>> = COLUMNS.iter().map(|c| column(c)).collect();
    if positions[0].is_none() {
        bail!("{}: no `id` column in the header", path.display());
    }
    let mut records = Vec::new();
    let mut skipped = 0usize;
    let stderr = std::io::stderr();
    for row in reader.records() {
        let row = match row {
            Ok(row) => row,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                skipped += 1;
                let _ = writeln!(stderr.lock(), "{}:{line}: skipped: {e}", path.display());
                continue;
            }
        };
        let line = row.position().map_or(0, |p| p.line());
        if row.len() != headers.len() {
            skipped += 1;
            let _ = writeln!(
                stderr.lock(),
                "{}:{line}: skipped: {} columns, the header has {}",
                path.display(),
                row.len(),
                headers.len()
            );
            continue;
        }
        let get = |k: usize| {
            positions[k]
                .and_then(|p| row.get(p))
                .unwrap_or("")
                .to_owned()
        };
        let record = Record {
            id: get(0),
            full_name: get(1),
            gender: get(2),
            dob: get(3),
            mobile: get(4),
            state_code: get(5),
            district_code: get(6),
            pincode: get(7),
            relative_name: get(8),
            aadhaar_hash: get(9),
            address: get(10),
        };
        if record.id.trim().is_empty() {
            skipped += 1;
            let _ = writeln!(
                stderr.lock(),
                "{}:{line}: skipped: empty id",
                path.display()
            );
            continue;
        }
        if !record.dob.trim().is_empty() && matching::normalise::Dob::parse(&record.dob).is_none() {
            skipped += 1;
            let _ = writeln!(
                stderr.lock(),
                "{}:{line}: skipped: dob {:?} is not written YYYY-MM-DD",
                path.display(),
                record.dob
            );
            continue;
        }
        records.push(record);
        if records.len() >= chunk {
            take(std::mem::take(&mut records));
        }
    }
    take(records);
    if skipped > 0 {
        eprintln!("{}: {skipped} rows skipped.", path.display());
    }
    Ok(())
}

/// True pairs, each with the slices it belongs to (an optional third column, `;`-separated).
fn read_truth(path: &Path) -> Result<Vec<(String, String, Vec<String>)>> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(path)
        .with_context(|| format!("--truth: {}", path.display()))?;
    let mut pairs = Vec::new();
    for row in reader.records() {
        let row = row.with_context(|| format!("--truth: {}", path.display()))?;
        if let (Some(a), Some(b)) = (row.get(0), row.get(1)) {
            let slices = row
                .get(2)
                .unwrap_or("")
                .split(';')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect();
            pairs.push((a.to_owned(), b.to_owned(), slices));
        }
    }
    Ok(pairs)
}

/// Writes a benchmark set from the synthetic population: registry.csv, incoming.csv and
/// truth.csv (incoming_id, registry_id, slices) under `dir`.
pub fn write_set(dir: &Path, registry: usize, incoming: usize, seed: u64) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("--out: {}", dir.display()))?;
    let set = population::matching_set(registry, incoming, 0.7, seed);
    for (name, rows) in [
        ("registry.csv", &set.registry),
        ("incoming.csv", &set.incoming),
    ] {
        let mut w = csv::Writer::from_path(dir.join(name))?;
        w.write_record(COLUMNS)?;
        for r in rows.iter() {
            w.write_record([
                &r.id,
                &r.full_name,
                &r.gender,
                &r.dob,
                &r.mobile,
                &r.state_code,
                &r.district_code,
                &r.pincode,
                &r.relative_name,
                &r.aadhaar_hash,
                &r.address,
            ])?;
        }
        w.flush()?;
    }
    let mut w = csv::Writer::from_path(dir.join("truth.csv"))?;
    w.write_record(["incoming_id", "registry_id", "slices"])?;
    for t in &set.truth {
        w.write_record([&t.incoming_id, &t.registry_id, &t.slices.join(";")])?;
    }
    w.flush()?;
    eprintln!(
        "Wrote {} registry and {} incoming records ({} true pairs) to {}.",
        set.registry.len(),
        set.incoming.len(),
        set.truth.len(),
        dir.display()
    );
    Ok(())
}

fn progress(len: u64) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} incoming records, {eta} left")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}

/// The process's peak resident memory, from /proc (Linux).
pub(crate) fn peak_memory() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(|l| l["VmHWM:".len()..].trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".into())
}
