//! The fitted ensemble: flattened trees over raw feature values, the starting score, and how
//! the trees combine (boosting sums, a forest averages). Scoring walks every tree for a chunk
//! of rows at a time, the chunks in parallel, so the trees stay in cache.

use std::sync::OnceLock;

use ndarray::Array1;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::feature::{FeatureBlock, SparseColumn};
use crate::model::{Predictor, Task};

use super::flat::FlatTrees;
use super::loss::sigmoid;
use super::params::{Ensemble, Loss, TreeValidParams};
use super::tree::Tree;

/// Rows scored together: their scores stay in L1 while every tree walks them.
const CHUNK: usize = 1024;

/// A fitted tree ensemble (gradient-boosted trees, a random forest or one decision tree).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TreeModel {
    /// The parameters of the fit.
    pub params: TreeValidParams,
    /// The score every row starts from (boosting; 0 for a forest).
    #[serde(with = "crate::merge::exact_float::real")]
    pub init: f64,
    /// The trees (a boosted model: up to its best iteration).
    pub trees: Vec<Tree>,
    /// The pipeline's feature names (the layout the model was trained on).
    pub feature_names: Vec<String>,
    /// The trees' features: the dense columns, then one per categorical (sparse) column.
    pub tree_features: Vec<String>,
    /// How many of the trees' features are dense columns.
    pub dense: usize,
    /// The trees flattened for scoring, built on first use.
    #[serde(skip)]
    flat: ScoringCache,
}

/// The flattened trees, built on first use; a cache, so never part of equality.
#[derive(Debug, Clone, Default)]
struct ScoringCache(OnceLock<FlatTrees>);

impl PartialEq for ScoringCache {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

/// How much each feature's splits gained, over all trees.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureImportance {
    /// The tree feature.
    pub feature: String,
    /// Σ gain of its splits.
    pub gain: f64,
    /// Its share of the total gain (MLlib's `featureImportances`; they sum to 1).
    pub share: f64,
    /// How many splits use it.
    pub splits: usize,
}

impl TreeModel {
    /// The model of `trees` (fitted on a layout whose names are `feature_names`).
    pub fn new(
        params: TreeValidParams,
        init: f64,
        trees: Vec<Tree>,
        feature_names: Vec<String>,
        tree_features: Vec<String>,
        dense: usize,
    ) -> Self {
        TreeModel {
            params,
            init,
            trees,
            feature_names,
            tree_features,
            dense,
            flat: ScoringCache::default(),
        }
    }

    /// The raw score of every row: boosting's `init + Σ trees`, a forest's mean of its trees.
    pub fn raw_scores(&self, block: &FeatureBlock) -> Array1<f64> {
        let width = self.tree_features.len();
        let flat = self
            .flat
            .0
            .get_or_init(|| FlatTrees::new(&self.trees, width));
        let mut out = vec![self.init; block.rows()];
        out.par_chunks_mut(CHUNK)
            .enumerate()
            .for_each(|(c, scores)| {
                let rows = c * CHUNK..c * CHUNK + scores.len();
                let x = self.gather(flat, block, rows, width);
                for t in 0..flat.len() {
                    flat.add_to(t, &x, width.max(1), scores);
                }
            });
        self.forest_mean(&mut out);
        Array1::from(out)
    }

    /// A forest's raw scores are its trees' mean: `sums` (init + Σ tree values) divided.
    fn forest_mean(&self, sums: &mut [f64]) {
        if self.params.ensemble() != Ensemble::Boosting && !self.trees.is_empty() {
            let count = self.trees.len() as f64;
            sums.iter_mut().for_each(|s| *s /= count);
        }
    }

    /// What the metrics read of rows whose scores sum to `sums` (init + Σ every tree's
    /// value, as a fit keeps them): the predictions, or for a logistic loss the probabilities
    /// — the bits [`Predictor::predict`] and [`Predictor::probability`] give.
    pub fn metric_outputs(&self, mut sums: Vec<f64>) -> Vec<f64> {
        self.forest_mean(&mut sums);
        if self.params.loss() == Loss::Logistic {
            sums.iter_mut().for_each(|s| *s = self.probability_of(*s));
        }
        sums
    }

    /// The tree features of `rows`, row after row, encoded for `flat`: dense columns, then
    /// each categorical column's category index (NaN for none).
    fn gather(
        &self,
        flat: &FlatTrees,
        block: &FeatureBlock,
        rows: std::ops::Range<usize>,
        width: usize,
    ) -> Vec<f64> {
        let mut x = Vec::with_capacity(rows.len() * width.max(1));
        for i in rows {
            x.extend((0..self.dense).map(|f| flat.encode(f, block.dense[[i, f]])));
            x.extend(block.sparse.iter().enumerate().map(|(j, col)| {
                let v = match col.indices[i] {
                    SparseColumn::NONE => f64::NAN,
                    k => f64::from(k),
                };
                flat.encode(self.dense + j, v)
            }));
            if width == 0 {
                x.push(f64::NAN);
            }
        }
        x
    }

    /// Gain-based importance of every tree feature, largest first.
    pub fn feature_importance(&self) -> Vec<FeatureImportance> {
        let mut gain = vec![0.0; self.tree_features.len()];
        let mut splits = vec![0usize; self.tree_features.len()];
        for tree in &self.trees {
            for (&f, &g) in tree.feature.iter().zip(&tree.gain) {
                gain[f as usize] += g;
                splits[f as usize] += 1;
            }
        }
        let total: f64 = gain.iter().sum();
        let mut out: Vec<FeatureImportance> = self
            .tree_features
            .iter()
            .enumerate()
            .map(|(f, name)| FeatureImportance {
                feature: name.clone(),
                gain: gain[f],
                share: if total > 0.0 { gain[f] / total } else { 0.0 },
                splits: splits[f],
            })
            .collect();
        out.sort_by(|a, b| b.gain.total_cmp(&a.gain));
        out
    }

    /// Leaves of every tree, summed.
    pub fn leaves(&self) -> usize {
        self.trees.iter().map(Tree::leaves).sum()
    }

    /// Probability of class 1 from a raw score.
    fn probability_of(&self, score: f64) -> f64 {
        match self.params.ensemble() {
            Ensemble::Boosting => sigmoid(score),
            _ => score.clamp(0.0, 1.0),
        }
    }
}

impl Predictor for TreeModel {
    fn task(&self) -> Task {
        self.params.task()
    }

    fn feature_names(&self) -> &[String] {
        &self.feature_names
    }

    fn predict(&self, block: &FeatureBlock) -> Array1<f64> {
        let scores = self.raw_scores(block);
        match self.params.loss() {
            Loss::Logistic => scores.mapv(|s| f64::from(self.probability_of(s) > 0.5)),
            _ => scores,
        }
    }

    fn probability(&self, block: &FeatureBlock) -> Option<Array1<f64>> {
        (self.params.loss() == Loss::Logistic)
            .then(|| self.raw_scores(block).mapv(|s| self.probability_of(s)))
    }
}
