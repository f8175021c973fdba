//! The linking run: index the registry by blocking keys, train the model on the incoming file if
//! asked, score each incoming record's candidates, assign one-to-one and decide.

use rayon::prelude::*;
use rustc_hash::FxHashMap;
use serde::Serialize;

use crate::compare::{COMPARISONS, Levels, NameEvidence, compare};
use crate::model::Model;
use crate::normalise::Record;
use crate::prepare::Prepared;

/// Thresholds and switches of a run.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Probability at or above which a pair is linked.
    pub link: f64,
    /// Probability at or above which a pair is kept for review.
    pub review: f64,
    /// Each registry record linked to at most one incoming record (and the other way round).
    pub one_to_one: bool,
    /// Blocking buckets larger than this are skipped (a key shared by too many records says little).
    pub max_bucket: usize,
    /// Candidates kept per incoming record (best first).
    pub keep: usize,
    /// Weak blocking keys a pair must share to be scored when it shares no strong one. Training
    /// always looks at every pair sharing any key: the model must see the whole crowd of
    /// look-alikes to tell people apart, while linking can skip pairs that cannot win.
    pub weak_hits: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            // "More likely than not": measured on FEBRL4 and the synthetic Indian sets, no other
            // threshold is better on all of them (the calibration differs with registry size).
            link: 0.5,
            review: 0.2,
            one_to_one: true,
            max_bucket: 100,
            keep: 3,
            weak_hits: 2,
        }
    }
}

/// The registry side, prepared and indexed.
pub struct Registry {
    pub ids: Vec<String>,
    records: Vec<Prepared>,
    /// Record indices grouped by blocking key; `buckets` maps a key to its run in `members`.
    members: Vec<u32>,
    buckets: FxHashMap<u64, (u32, u32)>,
    /// Share of records with each whole name (sorted tokens).
    name_tf: FxHashMap<String, f32>,
    /// Frequency-weighted mean share of a token: what a shared token is worth on average.
    token_tf_mean: f32,
    /// The same for whole names.
    name_tf_mean: f32,
}

impl Registry {
    pub fn build(records: &[Record]) -> Registry {
        Registry::from_prepared(
            records.iter().map(|r| r.id.clone()).collect(),
            records.par_iter().map(Prepared::new).collect(),
        )
    }

    /// The registry from records already prepared (so a caller reading a large file can prepare
    /// it chunk by chunk and never hold every raw record at once). `ids[i]` names `prepared[i]`.
    pub fn from_prepared(ids: Vec<String>, mut prepared: Vec<Prepared>) -> Registry {
        let n = prepared.len().max(1) as f32;
        let mut token_counts: FxHashMap<&str, u32> = FxHashMap::default();
        let mut name_counts: FxHashMap<&str, u32> = FxHashMap::default();
        for p in &prepared {
            let mut seen: Vec<&str> = p.name.tokens.iter().map(String::as_str).collect();
            seen.sort_unstable();
            seen.dedup();
            for t in seen {
                *token_counts.entry(t).or_default() += 1;
            }
            if !p.name.key.is_empty() {
                *name_counts.entry(p.name.key.as_str()).or_default() += 1;
            }
        }
        let token_tf: FxHashMap<String, f32> = token_counts
            .iter()
            .map(|(t, c)| ((*t).to_owned(), *c as f32 / n))
            .collect();
        let name_tf: FxHashMap<String, f32> = name_counts
            .iter()
            .map(|(t, c)| ((*t).to_owned(), *c as f32 / n))
            .collect();
        let (sq, sum) = token_tf.values().fold((0f64, 0f64), |(sq, s), f| {
            (sq + (*f as f64).powi(2), s + *f as f64)
        });
        let token_tf_mean = if sum > 0.0 { (sq / sum) as f32 } else { 1.0 };
        let (sq, sum) = name_tf.values().fold((0f64, 0f64), |(sq, s), f| {
            (sq + (*f as f64).powi(2), s + *f as f64)
        });
        let name_tf_mean = if sum > 0.0 { (sq / sum) as f32 } else { 1.0 };
        for p in &mut prepared {
            p.token_tf = p
                .name
                .tokens
                .iter()
                .map(|t| token_tf.get(t).copied().unwrap_or(1.0 / n))
                .collect();
        }
        let mut index: Vec<(u64, u32)> = prepared
            .par_iter()
            .enumerate()
            .flat_map_iter(|(i, p)| p.blocking_keys().into_iter().map(move |k| (k, i as u32)))
            .collect();
        index.par_sort_unstable();
        let mut buckets: FxHashMap<u64, (u32, u32)> = FxHashMap::default();
        let mut start = 0usize;
        while start < index.len() {
            let key = index[start].0;
            let end = start + index[start..].partition_point(|e| e.0 == key);
            buckets.insert(key, (start as u32, (end - start) as u32));
            start = end;
        }
        let members: Vec<u32> = index.into_iter().map(|e| e.1).collect();
        Registry {
            ids,
            records: prepared,
            members,
            buckets,
            name_tf,
            token_tf_mean,
            name_tf_mean,
        }
    }

    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// The comparison levels of `p` against registry record `j`.
    pub fn compare_with(&self, p: &Prepared, j: usize) -> crate::compare::Levels {
        compare(p, &self.records[j]).0
    }

    /// Registry records sharing a strong key with `p`, or a weak key of a small bucket, or at
    /// least `weak_hits` weak ones (see [`crate::prepare::is_strong`]); each once, in index order.
    pub fn candidates(&self, p: &Prepared, max_bucket: usize, weak_hits: usize) -> Vec<u32> {
        // Record index shifted left, the lowest bit set for a strong key's hit.
        let mut hits: Vec<u32> = Vec::new();
        for k in p.blocking_keys() {
            if let Some(&(start, len)) = self.buckets.get(&k)
                && len as usize <= max_bucket
            {
                // A weak key few records share is as telling as a strong one.
                let strong = u32::from(crate::prepare::is_strong(k) || len <= SMALL_BUCKET);
                hits.extend(
                    self.members[start as usize..(start + len) as usize]
                        .iter()
                        .map(|&m| (m << 1) | strong),
                );
            }
        }
        hits.sort_unstable();
        let mut out: Vec<u32> = Vec::new();
        let mut i = 0;
        while i < hits.len() {
            let record = hits[i] >> 1;
            let mut j = i;
            while j < hits.len() && hits[j] >> 1 == record {
                j += 1;
            }
            // Sorted: a strong hit, if any, is the run's last.
            if j - i >= weak_hits || hits[j - 1] & 1 == 1 {
                out.push(record);
            }
            i = j;
        }
        out
    }

    /// Term-frequency adjustment of the name weight: a shared rare name is worth more than a
    /// shared "Sunita Devi", a shared "Basavaraj" more than a shared "Kumar".
    fn name_tf_adjustment(&self, level: Option<u8>, evidence: NameEvidence, b: &Prepared) -> f64 {
        let Some(level) = level else { return 0.0 };
        let adj = match level {
            0 | 1 => {
                let tf = self
                    .name_tf
                    .get(&b.name.key)
                    .copied()
                    .unwrap_or(0.0)
                    .max(1.0 / self.len().max(1) as f32);
                (self.name_tf_mean as f64 / tf as f64).log2()
            }
            2..=4 => match evidence.rarest_shared {
                Some(j) => (self.token_tf_mean as f64 / b.token_tf[j] as f64).log2() * 0.5,
                None => 0.0,
            },
            _ => 0.0,
        };
        adj.clamp(-8.0, 8.0)
    }
}

/// Buckets of at most this many records count as strong keys when choosing candidates.
const SMALL_BUCKET: u32 = 8;

/// One scored pair.
#[derive(Debug, Clone, Copy)]
struct Scored {
    registry: u32,
    log2_factor: f64,
}

/// The decision on one incoming record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Decision {
    /// Index into the incoming records.
    pub incoming: usize,
    /// Index into the registry.
    pub registry: usize,
    pub probability: f64,
    pub decision: Verdict,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Link,
    Review,
}

/// One field's part in a score.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldWeight {
    pub comparison: &'static str,
    /// The level's label, or `missing` when a side lacks the field (weight 0).
    pub level: &'static str,
    /// log2(m/u) of the level, plus any term-frequency adjustment.
    pub weight: f64,
    /// The term-frequency part of `weight` (names only).
    pub tf_adjustment: f64,
}

/// Why a pair scored what it did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Explanation {
    pub prior_weight: f64,
    pub fields: Vec<FieldWeight>,
    pub total_weight: f64,
    pub probability: f64,
}

/// Trains a model on `incoming` against `registry`: u from `random_pairs` random pairs, m and the
/// prior by EM over the blocked pairs of up to `sample` incoming records. Deterministic for a seed.
pub fn train(
    registry: &Registry,
    incoming: &[Prepared],
    options: &Options,
    random_pairs: usize,
    sample: usize,
    seed: u64,
) -> Model {
    let mut rng = SplitMix64(seed);
    let random: Vec<(usize, usize)> = (0..random_pairs)
        .map(|_| {
            let i = rng.below(incoming.len());
            let j = rng.below(registry.len());
            (i, j)
        })
        .collect();
    let random: Vec<Levels> = random
        .par_iter()
        .map(|&(i, j)| compare(&incoming[i], &registry.records[j]).0)
        .collect();
    let mut model = Model::from_random_pairs(&random);
    let step = (incoming.len() / sample.max(1)).max(1);
    let blocked: Vec<Levels> = incoming
        .par_iter()
        .step_by(step)
        .flat_map_iter(|p| {
            registry
                .candidates(p, options.max_bucket, 1)
                .into_iter()
                .map(move |j| compare(p, &registry.records[j as usize]).0)
        })
        .collect();
    model.prior =
        (sample.min(incoming.len()) as f64 * 0.5 / blocked.len().max(1) as f64).clamp(1e-6, 0.5);
    let random = model.clone();
    model.fit(&blocked, 40);
    // Identity fields take u from random pairs again. Blocking gathers non-matches that share a
    // name (the name keys) or a date of birth (the date keys), so among candidates each looks
    // common, yet non-matches rarely share both: with the candidates' u, "same name, same date of
    // birth, same pincode" scored p < 0.2. Place, family and address keep the candidates' u:
    // neighbours and siblings that blocking brings together really do share them.
    let matches = model.prior * blocked.len() as f64;
    for c in IDENTITY {
        let levels = model.comparisons[c].levels.iter_mut();
        for (level, unconditional) in levels.zip(&random.comparisons[c].levels) {
            level.u = unconditional.u;
        }
    }
    // The prior is that of a random pair, as the identity fields' u: EM's matches among the
    // sampled records' candidates, over every (sampled, registry) pair. (Calibrating it instead so
    // that the candidates' probabilities add up to EM's count set it 2-3 bits lower: namesakes
    // among the candidates each carry some probability, and true pairs with modest evidence, such as
    // an exact name and only a birth year, fell below the threshold.)
    let sampled = incoming.len().div_ceil(step);
    model.prior = (matches / (sampled as f64 * registry.len() as f64)).clamp(1e-12, 0.5);
    model.registry_size = Some(registry.len() as u64);
    model
}

/// Comparisons whose u comes from random pairs: the name and the date of birth.
const IDENTITY: [usize; 2] = [0, 1];

/// Scores every incoming record's candidates and decides: the best candidate at or above the
/// review threshold, assigned one-to-one when asked. `progress` is called with the number of
/// incoming records scored since its last call.
pub fn link(
    registry: &Registry,
    incoming: &[Prepared],
    model: &Model,
    options: &Options,
    progress: &(dyn Fn(usize) + Sync),
) -> Vec<Decision> {
    let review = odds_log2(options.review) - prior_log2(model);
    let scored: Vec<Vec<Scored>> = incoming
        .par_chunks(1024)
        .flat_map_iter(|chunk| {
            let out: Vec<Vec<Scored>> = chunk
                .iter()
                .map(|p| {
                    let mut best: Vec<Scored> = registry
                        .candidates(p, options.max_bucket, options.weak_hits)
                        .into_iter()
                        .map(|j| Scored {
                            registry: j,
                            log2_factor: pair_weight(
                                registry,
                                model,
                                p,
                                &registry.records[j as usize],
                            ),
                        })
                        .filter(|s| s.log2_factor >= review)
                        .collect();
                    best.sort_by(|a, b| {
                        b.log2_factor
                            .total_cmp(&a.log2_factor)
                            .then(a.registry.cmp(&b.registry))
                    });
                    best.truncate(options.keep.max(1));
                    best
                })
                .collect();
            progress(chunk.len());
            out
        })
        .collect();
    let mut decisions = Vec::new();
    if options.one_to_one {
        let mut all: Vec<(f64, usize, u32)> = scored
            .iter()
            .enumerate()
            .flat_map(|(i, v)| v.iter().map(move |s| (s.log2_factor, i, s.registry)))
            .collect();
        all.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
        let mut taken_in = vec![false; incoming.len()];
        let mut taken_reg: rustc_hash::FxHashSet<u32> = rustc_hash::FxHashSet::default();
        for (w, i, j) in all {
            if taken_in[i] || taken_reg.contains(&j) {
                continue;
            }
            taken_in[i] = true;
            taken_reg.insert(j);
            decisions.push(decide(model, options, i, j, w));
        }
        decisions.sort_by_key(|d| d.incoming);
    } else {
        for (i, v) in scored.iter().enumerate() {
            if let Some(s) = v.first() {
                decisions.push(decide(model, options, i, s.registry, s.log2_factor));
            }
        }
    }
    decisions
}

fn decide(model: &Model, options: &Options, i: usize, j: u32, w: f64) -> Decision {
    let probability = model.probability(w);
    Decision {
        incoming: i,
        registry: j as usize,
        probability,
        decision: if probability >= options.link {
            Verdict::Link
        } else {
            Verdict::Review
        },
    }
}

/// Total weight of a pair: the levels' weights plus the name's term-frequency adjustment.
fn pair_weight(registry: &Registry, model: &Model, a: &Prepared, b: &Prepared) -> f64 {
    let (levels, evidence) = compare(a, b);
    model.log2_factor(&levels) + registry.name_tf_adjustment(levels[0], evidence, b)
}

/// Every field's level and weight for the pair (`incoming`, registry record `j`).
pub fn explain(registry: &Registry, model: &Model, a: &Prepared, j: usize) -> Explanation {
    let b = &registry.records[j];
    explain_with(model, a, b, |level, evidence| {
        registry.name_tf_adjustment(Some(level), evidence, b)
    })
}

/// Every field's level and weight for a pair scored outside a [`Registry`] (the API's incremental
/// matching against candidates read from the database): no term-frequency adjustment, which
/// needs the whole registry's name counts.
pub fn explain_pair(model: &Model, a: &Prepared, b: &Prepared) -> Explanation {
    explain_with(model, a, b, |_, _| 0.0)
}

/// [`explain_pair`] for the pairs that can reach a probability, and only those: a pair's
/// comparisons are made cheapest first, and once the weight found plus the most the others could
/// add falls short of the floor, the pair is dropped without its name comparisons. A pair kept is
/// explained exactly as [`explain_pair`] explains it; a pair dropped is one `explain_pair` would
/// have scored below the floor. Made once per model, used for many pairs.
#[derive(Debug, Clone)]
pub struct PairScorer {
    model: Model,
    /// Each comparison's level weights.
    weights: [[f64; MAX_LEVELS]; COMPARISONS.len()],
    /// The most each comparison can add: its strongest level, or 0 when the field is missing.
    best: [f64; COMPARISONS.len()],
    /// The total field weight a pair needs to reach the floor, less a margin for rounding (the
    /// bound is summed in another order than the explanation).
    needed: f64,
}

/// Levels of the comparison with the most.
const MAX_LEVELS: usize = 8;

impl PairScorer {
    /// A scorer for `model` that keeps the pairs of probability `floor` or more.
    pub fn new(model: &Model, floor: f64) -> PairScorer {
        let mut weights = [[0.0; MAX_LEVELS]; COMPARISONS.len()];
        let mut best = [0.0f64; COMPARISONS.len()];
        for (c, comp) in COMPARISONS.iter().enumerate() {
            let levels = comp.levels.len().min(MAX_LEVELS);
            for (l, weight) in weights[c].iter_mut().take(levels).enumerate() {
                *weight = model.weight(c, l as u8);
                best[c] = best[c].max(*weight);
            }
        }
        PairScorer {
            model: model.clone(),
            weights,
            best,
            needed: needed_log2(floor, model),
        }
    }

    /// The pair's explanation if its probability can reach the floor (it may still be below it:
    /// the caller compares), `None` if it cannot.
    pub fn explain(&self, a: &Prepared, b: &Prepared) -> Option<Explanation> {
        let present = crate::compare::present(a);
        let mut levels: Levels = [None; COMPARISONS.len()];
        // The weight found so far, and the most the comparisons not yet made could add.
        let mut found = 0.0;
        let mut open: f64 = (0..COMPARISONS.len())
            .filter(|&c| present[c])
            .map(|c| self.best[c])
            .sum();
        for stage in crate::compare::CHEAPEST_FIRST {
            for &c in stage {
                if !present[c] {
                    continue;
                }
                open -= self.best[c];
                levels[c] = crate::compare::compare_field(a, b, c);
                found += levels[c].map_or(0.0, |l| self.weights[c][l as usize]);
            }
            if found + open < self.needed {
                return None;
            }
        }
        Some(explain_levels(
            &self.model,
            &levels,
            NameEvidence::default(),
            |_, _| 0.0,
        ))
    }
}

fn explain_with(
    model: &Model,
    a: &Prepared,
    b: &Prepared,
    name_tf: impl Fn(u8, NameEvidence) -> f64,
) -> Explanation {
    let (levels, evidence) = compare(a, b);
    explain_levels(model, &levels, evidence, name_tf)
}

fn explain_levels(
    model: &Model,
    levels: &Levels,
    evidence: NameEvidence,
    name_tf: impl Fn(u8, NameEvidence) -> f64,
) -> Explanation {
    let mut fields = Vec::with_capacity(COMPARISONS.len());
    let mut total = 0.0;
    for (c, comp) in COMPARISONS.iter().enumerate() {
        let (level, weight, tf) = match levels[c] {
            None => ("missing", 0.0, 0.0),
            Some(l) => {
                let tf = if c == 0 { name_tf(l, evidence) } else { 0.0 };
                (comp.levels[l as usize], model.weight(c, l) + tf, tf)
            }
        };
        total += weight;
        fields.push(FieldWeight {
            comparison: comp.name,
            level,
            weight,
            tf_adjustment: tf,
        });
    }
    Explanation {
        prior_weight: prior_log2(model),
        fields,
        total_weight: total,
        probability: model.probability(total),
    }
}

fn prior_log2(model: &Model) -> f64 {
    (model.prior / (1.0 - model.prior)).log2()
}

/// The weight a pair needs to reach `floor` under `model`'s prior, with a margin for the order
/// of summation. A floor of 0 keeps every pair; so does one of 1 or more, since the probability is
/// rounded to 1.0 long before its odds are infinite. The floor is not clamped as `odds_log2` clamps:
/// a floor of 1e-15 drops only what is below 1e-15.
fn needed_log2(floor: f64, model: &Model) -> f64 {
    if floor <= 0.0 || floor >= 1.0 || floor.is_nan() {
        return f64::NEG_INFINITY;
    }
    (floor / (1.0 - floor)).log2() - prior_log2(model) - 1e-6
}

fn odds_log2(p: f64) -> f64 {
    let p = p.clamp(1e-12, 1.0 - 1e-12);
    (p / (1.0 - p)).log2()
}

/// A small seeded generator for sampling pairs (deterministic on every platform).
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}
