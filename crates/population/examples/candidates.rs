//! How many candidates the blocking keys give per incoming record, and how much time comparing takes.
use std::time::Instant;

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse().unwrap())
        .collect();
    let (r, i) = (
        args.first().copied().unwrap_or(1_000_000),
        args.get(1).copied().unwrap_or(100_000),
    );
    let set = population::matching_set(r, i, 0.7, 42);
    let t = Instant::now();
    let registry = matching::Registry::build(&set.registry);
    eprintln!("build {:?}", t.elapsed());
    let incoming: Vec<matching::Prepared> =
        set.incoming.iter().map(matching::Prepared::new).collect();
    let opts = matching::Options::default();
    let t = Instant::now();
    let mut total = 0usize;
    let mut max = 0usize;
    let mut keys = 0usize;
    for p in incoming.iter().take(20_000) {
        let c = registry.candidates(p, opts.max_bucket, opts.weak_hits);
        total += c.len();
        max = max.max(c.len());
        keys += p.blocking_keys().len();
    }
    eprintln!(
        "candidates: mean {:.1}, max {max}, keys per record {:.1}, {:?} for 20k",
        total as f64 / 20_000.0,
        keys as f64 / 20_000.0,
        t.elapsed()
    );
    let t = Instant::now();
    let mut n = 0usize;
    for p in incoming.iter().take(2_000) {
        for j in registry.candidates(p, opts.max_bucket, opts.weak_hits) {
            std::hint::black_box(registry.compare_with(p, j as usize));
            n += 1;
        }
    }
    eprintln!(
        "{n} comparisons in {:?} ({:.0} ns each)",
        t.elapsed(),
        t.elapsed().as_nanos() as f64 / n as f64
    );
}
