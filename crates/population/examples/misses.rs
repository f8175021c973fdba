//! Why true pairs of one slice are missed on the 1,000,000 x 100,000 set: not a candidate, scored
//! below the link threshold, or taken by another record in the one-to-one assignment; with the
//! level pattern of the below-threshold ones. `cargo run --release -p population --example misses -- latin_exact`
use std::collections::HashMap;

fn main() {
    let slice = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "latin_exact".into());
    let set = population::matching_set(1_000_000, 100_000, 0.7, 42);
    let registry = matching::Registry::build(&set.registry);
    let incoming: Vec<matching::Prepared> =
        set.incoming.iter().map(matching::Prepared::new).collect();
    let opts = matching::Options::default();
    let model = matching::train(&registry, &incoming, &opts, 500_000, 10_000, 7);
    let decisions = matching::link(&registry, &incoming, &model, &opts, &|_| {});
    let reg_index: HashMap<&str, usize> = set
        .registry
        .iter()
        .enumerate()
        .map(|(i, r)| (r.id.as_str(), i))
        .collect();
    let inc_index: HashMap<&str, usize> = set
        .incoming
        .iter()
        .enumerate()
        .map(|(i, r)| (r.id.as_str(), i))
        .collect();
    let linked: HashMap<usize, (usize, f64, bool)> = decisions
        .iter()
        .map(|d| {
            (
                d.incoming,
                (
                    d.registry,
                    d.probability,
                    d.decision == matching::Verdict::Link,
                ),
            )
        })
        .collect();
    let (mut total, mut not_candidate, mut below, mut lost) = (0, 0, 0, 0);
    let mut patterns: HashMap<String, usize> = HashMap::new();
    let mut shown = 0;
    for t in set
        .truth
        .iter()
        .filter(|t| t.slices.contains(&slice.as_str()))
    {
        total += 1;
        let i = inc_index[t.incoming_id.as_str()];
        let j = reg_index[t.registry_id.as_str()];
        if matches!(linked.get(&i), Some((r, _, true)) if *r == j) {
            continue;
        }
        let cands = registry.candidates(&incoming[i], opts.max_bucket, opts.weak_hits);
        if !cands.contains(&(j as u32)) {
            not_candidate += 1;
            if not_candidate <= 8 {
                eprintln!(
                    "not a candidate ({} candidates):\n  in:  {:?}\n  reg: {:?}",
                    cands.len(),
                    set.incoming[i],
                    set.registry[j]
                );
            }
            continue;
        }
        let e = matching::explain(&registry, &model, &incoming[i], j);
        if e.probability >= opts.link {
            lost += 1;
            continue;
        }
        below += 1;
        let key: Vec<String> = e
            .fields
            .iter()
            .map(|f| {
                format!(
                    "{}={}",
                    f.comparison,
                    f.level.split_whitespace().next().unwrap_or("")
                )
            })
            .collect();
        *patterns.entry(key.join(" ")).or_default() += 1;
        if shown < 12 {
            shown += 1;
            eprintln!(
                "p={:.3} total={:.1} prior={:.1}\n  in:  {:?}\n  reg: {:?}\n  {}",
                e.probability,
                e.total_weight,
                e.prior_weight,
                set.incoming[i],
                set.registry[j],
                e.fields
                    .iter()
                    .map(|f| format!("{}:{}={:.1}", f.comparison, f.level, f.weight))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
    }
    eprintln!(
        "{slice}: {total} true pairs; missed: not a candidate {not_candidate}, below threshold {below}, lost in one-to-one {lost}"
    );
    let mut p: Vec<_> = patterns.into_iter().collect();
    p.sort_by_key(|e| std::cmp::Reverse(e.1));
    for (k, n) in p.iter().take(15) {
        eprintln!("{n:6} {k}");
    }
}
