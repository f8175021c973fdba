//! The Fellegi-Sunter model: for each comparison level, m (how often true pairs show it) and u
//! (how often unrelated pairs do); a level's weight is log2(m/u). u comes from random pairs, m
//! from expectation-maximisation over the blocked pairs, so no labelled data is needed. The
//! fitted model is JSON and reloads exactly.

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::compare::{COMPARISONS, Levels};

/// A fitted model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Model {
    /// Format version of this file.
    pub version: u32,
    /// Share of candidate pairs that are true matches (the prior λ).
    pub prior: f64,
    /// Records of the registry side the prior was fitted on: a random pair's prior falls as the
    /// registry grows (the same share of incoming records has a match among more records), so a
    /// model applied to a registry of another size can be rescaled ([`Model::for_registry_of`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry_size: Option<u64>,
    pub comparisons: Vec<ComparisonParams>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComparisonParams {
    pub name: String,
    pub levels: Vec<LevelParams>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LevelParams {
    pub label: String,
    /// P(level | match).
    pub m: f64,
    /// P(level | non-match).
    pub u: f64,
}

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("model file: {0}")]
    Json(#[from] serde_json::Error),
    #[error("model file: {0}")]
    Shape(String),
}

const VERSION: u32 = 2;
const FLOOR: f64 = 1e-6;

impl Model {
    /// A model with u from `random` level vectors (pairs drawn at random: almost all non-matches)
    /// and m at a neutral starting point, to be refined by [`Model::fit_m`].
    pub fn from_random_pairs(random: &[Levels]) -> Model {
        let comparisons = COMPARISONS
            .iter()
            .enumerate()
            .map(|(c, comp)| {
                let n = comp.levels.len();
                let mut counts = vec![0f64; n];
                for lv in random {
                    if let Some(l) = lv[c] {
                        counts[l as usize] += 1.0;
                    }
                }
                let total: f64 = counts.iter().sum();
                ComparisonParams {
                    name: comp.name.to_owned(),
                    levels: comp
                        .levels
                        .iter()
                        .enumerate()
                        .map(|(l, label)| LevelParams {
                            label: (*label).to_owned(),
                            // Half a pair of pseudo-count: a level never seen among random pairs
                            // is rare, not impossible.
                            u: ((counts[l] + 0.5) / (total + 0.5 * n as f64)).max(FLOOR),
                            // Strongest level most likely among matches, falling off steeply.
                            m: 0.2f64.powi(l as i32) * 0.8 / (1.0 - 0.2f64.powi(n as i32)),
                        })
                        .collect(),
                }
            })
            .collect();
        Model {
            version: VERSION,
            prior: 0.05,
            registry_size: None,
            comparisons,
        }
    }

    /// This model for a registry of `records`: the prior rescaled so that the share of incoming
    /// records expected to have a match there stays what training found (`prior × registry size`),
    /// spread over that many records. Unchanged when the training size is unknown.
    pub fn for_registry_of(&self, records: u64) -> Model {
        let mut m = self.clone();
        if let Some(trained) = self.registry_size.filter(|n| *n > 0) {
            let expected = self.prior * trained as f64;
            m.prior = (expected / records.max(1) as f64).clamp(1e-12, 0.5);
            m.registry_size = Some(records.max(1));
        }
        m
    }

    /// Estimates m, u and the prior by expectation-maximisation over the blocked pairs' level
    /// vectors (a two-class mixture, started from u of random pairs and m favouring agreement).
    /// u is re-estimated too because decisions are taken among blocked pairs, whose non-matches
    /// agree far more often than random pairs do (same place, similar names): with u of random
    /// pairs every candidate would look like a match. Works on distinct level patterns with their
    /// counts, so it costs next to nothing however many pairs there are.
    pub fn fit(&mut self, blocked: &[Levels], iterations: usize) {
        let mut patterns: FxHashMap<Levels, f64> = FxHashMap::default();
        for lv in blocked {
            *patterns.entry(*lv).or_default() += 1.0;
        }
        let mut patterns: Vec<(Levels, f64)> = patterns.into_iter().collect();
        patterns.sort_by_key(|p| p.0);
        let total: f64 = patterns.iter().map(|p| p.1).sum();
        if total == 0.0 {
            return;
        }
        let zeros = |model: &Model| -> Vec<Vec<f64>> {
            model
                .comparisons
                .iter()
                .map(|c| vec![0.0; c.levels.len()])
                .collect()
        };
        for _ in 0..iterations {
            let (mut m_sums, mut u_sums) = (zeros(self), zeros(self));
            let mut matched = 0.0;
            for (lv, count) in &patterns {
                let p = self.probability(self.log2_factor(lv));
                matched += p * count;
                for (c, l) in lv.iter().enumerate() {
                    if let Some(l) = l {
                        m_sums[c][*l as usize] += p * count;
                        u_sums[c][*l as usize] += (1.0 - p) * count;
                    }
                }
            }
            for (c, comparison) in self.comparisons.iter_mut().enumerate() {
                let (ms, us): (f64, f64) = (m_sums[c].iter().sum(), u_sums[c].iter().sum());
                for (l, level) in comparison.levels.iter_mut().enumerate() {
                    if ms > 0.0 {
                        level.m = (m_sums[c][l] / ms).max(FLOOR);
                    }
                    if us > 0.0 {
                        level.u = (u_sums[c][l] / us).max(FLOOR);
                    }
                }
            }
            self.prior = (matched / total).clamp(1e-9, 1.0 - 1e-9);
        }
    }

    /// The weight (log2 Bayes factor) of level `l` of comparison `c`.
    pub fn weight(&self, c: usize, l: u8) -> f64 {
        let p = &self.comparisons[c].levels[l as usize];
        (p.m / p.u).log2()
    }

    /// Sum of the weights of a level vector (no prior, no term frequencies).
    pub fn log2_factor(&self, lv: &Levels) -> f64 {
        lv.iter()
            .enumerate()
            .filter_map(|(c, l)| l.map(|l| self.weight(c, l)))
            .sum()
    }

    /// Match probability of a pair with total weight `log2_factor`.
    pub fn probability(&self, log2_factor: f64) -> f64 {
        let prior = (self.prior / (1.0 - self.prior)).log2();
        1.0 / (1.0 + (-(prior + log2_factor)).exp2())
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Reads a model written by [`Model::to_json`], checking it fits these comparisons.
    pub fn from_json(text: &str) -> Result<Model, ModelError> {
        let model: Model = serde_json::from_str(text)?;
        if model.version != VERSION {
            return Err(ModelError::Shape(format!(
                "version {} (this build reads {VERSION})",
                model.version
            )));
        }
        if model.comparisons.len() != COMPARISONS.len() {
            return Err(ModelError::Shape(format!(
                "{} comparisons, expected {}",
                model.comparisons.len(),
                COMPARISONS.len()
            )));
        }
        for (got, want) in model.comparisons.iter().zip(COMPARISONS) {
            if got.name != want.name || got.levels.len() != want.levels.len() {
                return Err(ModelError::Shape(format!(
                    "comparison {} does not fit {} with {} levels",
                    got.name,
                    want.name,
                    want.levels.len()
                )));
            }
            if got
                .levels
                .iter()
                .any(|l| !(l.m > 0.0 && l.u > 0.0 && l.m <= 1.0 && l.u <= 1.0))
            {
                return Err(ModelError::Shape(format!(
                    "comparison {}: m and u must be in (0, 1]",
                    got.name
                )));
            }
        }
        if !(model.prior > 0.0 && model.prior < 1.0) {
            return Err(ModelError::Shape("prior must be in (0, 1)".into()));
        }
        Ok(model)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prior_rescales_with_the_registry_it_is_applied_to() {
        let mut m = Model::from_random_pairs(&[]);
        m.prior = 6.74e-7;
        m.registry_size = Some(1_000_000);
        // The same 0.674 expected matches per record, over 2,000 or 30 crore records.
        let small = m.for_registry_of(2_000);
        assert!(
            (small.prior - 0.674 / 2_000.0).abs() < 1e-12,
            "{}",
            small.prior
        );
        let large = m.for_registry_of(300_000_000);
        assert!((large.prior * 300_000_000.0 - 0.674).abs() < 1e-9);
        assert_eq!(m.for_registry_of(1_000_000).prior, m.prior);
        // Unknown training size: left as it is.
        m.registry_size = None;
        assert_eq!(m.for_registry_of(2_000).prior, m.prior);
        // Written only when known, and read back.
        let json = serde_json::to_string(&small).unwrap();
        assert!(json.contains("\"registry_size\":2000"));
        assert_eq!(Model::from_json(&json).unwrap(), small);
        assert!(!serde_json::to_string(&m).unwrap().contains("registry_size"));
    }
}
