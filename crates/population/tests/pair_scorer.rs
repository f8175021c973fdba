//! `matching::PairScorer` drops only the pairs `explain_pair` scores below the floor, and explains
//! the others exactly as it does: checked on a synthetic Indian set's blocked pairs and random
//! pairs, under a model trained on it, rescaled for registries of other sizes, at several floors.

use matching::{Options, PairScorer, Prepared, Registry, explain_pair, train};

#[test]
fn the_pair_scorer_drops_only_pairs_below_its_floor_and_explains_the_rest_as_explain_pair_does() {
    let set = population::matching_set(3_000, 1_500, 0.6, 11);
    let registry = Registry::build(&set.registry);
    let incoming: Vec<Prepared> = set.incoming.iter().map(Prepared::new).collect();
    let options = Options::default();
    let trained = train(&registry, &incoming, &options, 20_000, 1_500, 5);
    let records: Vec<Prepared> = set.registry.iter().map(Prepared::new).collect();
    // Every blocked pair, and as many pairs drawn across the set (mostly strangers).
    let mut pairs: Vec<(usize, usize)> = Vec::new();
    for (i, p) in incoming.iter().enumerate() {
        for j in registry.candidates(p, options.max_bucket, 1) {
            pairs.push((i, j as usize));
        }
    }
    let blocked = pairs.len();
    for k in 0..blocked {
        pairs.push(((k * 7) % incoming.len(), (k * 13 + 5) % records.len()));
    }
    let (mut kept, mut dropped, mut above) = (0usize, 0usize, 0usize);
    for size in [3_000u64, 1_000_000, 300_000_000] {
        let model = trained.for_registry_of(size);
        // 0 keeps every pair (the smallest review threshold the configuration accepts); 1e-15 is
        // below any clamp of the odds.
        for floor in [0.0, 1e-15, 0.01, 0.2, 0.5, 0.9, 1.0] {
            let scorer = PairScorer::new(&model, floor);
            for &(i, j) in &pairs {
                let full = explain_pair(&model, &incoming[i], &records[j]);
                match scorer.explain(&incoming[i], &records[j]) {
                    Some(found) => {
                        assert_eq!(found, full, "pair ({i}, {j}) explained otherwise");
                        kept += usize::from(floor >= 0.01);
                    }
                    None => {
                        assert!(floor > 0.0, "pair ({i}, {j}) dropped at a floor of 0");
                        assert!(
                            full.probability < floor,
                            "pair ({i}, {j}) dropped at {floor} with p = {}",
                            full.probability
                        );
                        dropped += usize::from(floor >= 0.01);
                    }
                }
                above += usize::from(floor >= 0.01 && full.probability >= floor);
            }
        }
    }
    // The check means something only if both happen: pairs above the floor kept, and most below
    // it dropped early (counted at the floors a review threshold is set to).
    assert!(above > 1_000, "{above} pairs above a floor");
    assert!(kept >= above);
    assert!(
        dropped * 2 > kept + dropped,
        "{dropped} dropped of {}",
        kept + dropped
    );
}
