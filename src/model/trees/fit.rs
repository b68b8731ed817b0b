//! The tree ensembles' fit, written once against [`TreeSums`]: bins from merged sketches, a
//! starting score, then tree after tree grown best-first (LightGBM's leaf-wise growth under a
//! depth cap), with row and feature sampling, early stopping on the validation loss, the model
//! keeping its best iteration — whichever trainer provides the sums.

use std::time::Instant;

use rand::seq::index::sample;
use rand::SeedableRng;
use rand_pcg::Pcg64;
use serde::{Deserialize, Serialize};

use crate::feature::FeatureLayout;
use crate::model::{Learn, ModelError, ParamSpec, SetError, Sums, Task, TrainSummary, TreeSums};

use super::binning::{Binning, Source};
use super::model::TreeModel;
use super::params::{Ensemble, Loss, TreeValidParams};
use super::partition::row_state_bytes;
use super::split::{Split, SplitSearch};
use super::tree::{BinTree, Tree};

/// What a tree's rows fit: the loss's gradient at the running score (boosting), or the label
/// itself (a forest's trees: g = −y, h = 1, so a leaf's value is its rows' mean label).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Target {
    /// The gradient and hessian of `loss` (Huber threshold `alpha`).
    Gradient {
        /// The loss.
        loss: Loss,
        /// Huber's threshold.
        alpha: f64,
    },
    /// The label.
    Label,
}

/// Which rows a tree samples, and with what weight.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RowSample {
    /// Share of the rows (1: every row once).
    pub fraction: f64,
    /// The bag: rows are drawn anew each round.
    pub round: u64,
    /// Poisson(fraction) copies of each row (a bootstrap) instead of keeping it with
    /// probability `fraction`.
    pub with_replacement: bool,
    /// Seed.
    pub seed: u64,
}

impl RowSample {
    /// The weight of row `row` of partition `partition`: a deterministic draw from its position,
    /// the same in every trainer.
    #[inline]
    pub fn weight(&self, partition: usize, row: usize) -> f64 {
        if self.fraction >= 1.0 && !self.with_replacement {
            return 1.0;
        }
        let u = uniform(self.seed, self.round, partition as u64, row as u64);
        if !self.with_replacement {
            return f64::from(u < self.fraction);
        }
        // Poisson(λ) by inversion of its CDF.
        let lambda = self.fraction;
        let (mut k, mut p) = (0u32, (-lambda).exp());
        let mut cdf = p;
        while u > cdf && k < 64 {
            k += 1;
            p *= lambda / f64::from(k);
            cdf += p;
        }
        f64::from(k)
    }
}

/// A uniform number in [0, 1) from four integers (SplitMix64).
fn uniform(a: u64, b: u64, c: u64, d: u64) -> f64 {
    let mut x = a ^ b.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    for v in [c, d] {
        x = x
            .wrapping_add(v.wrapping_mul(0xBF58_476D_1CE4_E5B9))
            .wrapping_add(0x9E37_79B9_7F4A_7C15);
        x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        x ^= x >> 31;
    }
    (x >> 11) as f64 / (1u64 << 53) as f64
}

/// How a tree starts: what it fits, which rows, and how its values join the scores.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TreeStart {
    /// The tree's index.
    pub tree: usize,
    /// What the rows fit.
    pub target: Target,
    /// The row sample.
    pub sample: RowSample,
    /// Boosting adds leaf values to the scores; a forest averages its trees.
    pub ensemble: Ensemble,
    /// The loss the reported losses are in.
    pub loss: Loss,
    /// Huber's threshold.
    pub alpha: f64,
}

impl TreeStart {
    /// The prediction of a row whose score (a forest: the sum of its trees' values) is `score`
    /// once this tree is added.
    #[inline]
    pub fn prediction(&self, score: f64) -> f64 {
        match self.ensemble {
            Ensemble::Boosting => score,
            _ => score / (self.tree + 1) as f64,
        }
    }

    /// The loss of a row whose score is `score` once this tree is added: boosting's loss of the
    /// raw score; a forest's squared error or log-loss of its mean prediction.
    #[inline]
    pub fn loss_of(&self, score: f64, y: f64) -> f64 {
        match (self.ensemble, self.loss) {
            (Ensemble::Boosting, loss) => loss.value(score, y, self.alpha),
            (_, Loss::Logistic) => {
                let p = self.prediction(score).clamp(1e-15, 1.0 - 1e-15);
                -(y * p.ln() + (1.0 - y) * (1.0 - p).ln())
            }
            (_, _) => {
                let d = self.prediction(score) - y;
                d * d
            }
        }
    }
}

/// The search of one split: the root, or the two children of the last split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum SplitRequest {
    /// Leaf 0 before any split, over these features.
    Root {
        /// Features it may split on.
        features: Vec<usize>,
    },
    /// The leaves `left` and `right` just split from `left`: the child with fewer rows has its
    /// histogram built, the other's is the parent's minus it.
    Children {
        /// The left child (it keeps the parent's index).
        left: usize,
        /// The right child.
        right: usize,
        /// Features the left child may split on (empty: do not search it).
        left_features: Vec<usize>,
        /// Features the right child may split on.
        right_features: Vec<usize>,
    },
}

/// Mean losses after a tree.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Losses {
    /// On the training rows.
    pub train: f64,
    /// On the validation rows, when there are some.
    pub valid: Option<f64>,
}

impl Learn for TreeValidParams {
    type Model = TreeModel;
    const KINDS: &'static [crate::model::KindSpec] = super::kinds::KINDS;

    fn specs() -> &'static [ParamSpec] {
        Self::SPECS
    }
    fn check(&self) -> Result<(), ModelError> {
        self.validate()
    }
    fn set_text(&mut self, key: &str, text: &str) -> Result<(), SetError> {
        TreeValidParams::set_text(self, key, text)
    }
    fn values(&self) -> Vec<(&'static ParamSpec, String)> {
        TreeValidParams::values(self)
    }
    fn task(&self) -> Task {
        TreeValidParams::task(self)
    }
    fn check_label(&self, y: f64) -> Option<&'static str> {
        self.loss().check_label(y)
    }
    fn budget(&self) -> usize {
        self.trees()
    }
    fn with_budget(&self, budget: usize) -> Self {
        let mut p = self.clone();
        match p.ensemble {
            Ensemble::Boosting => p.max_iter = budget.max(1),
            Ensemble::Forest => p.num_trees = budget.max(1),
            Ensemble::Single => {}
        }
        p
    }
    fn accepts(&self, spec: &ParamSpec) -> bool {
        self.applies(spec.field)
    }
    fn native_categories(&self) -> bool {
        true
    }
    fn allows_missing(&self) -> bool {
        true
    }
    fn held_bytes_per_row(&self, layout: &FeatureLayout, weighted: bool) -> u64 {
        // Two bytes per feature bounds the binned row before the bins are known.
        let features = (layout.dense + layout.sparse_columns.len()) as u64;
        2 * features + self.row_state_bytes(weighted)
    }
    fn row_state_bytes(&self, weighted: bool) -> u64 {
        TreeValidParams::row_state_bytes(self, weighted)
    }
    fn uses_validation(&self) -> bool {
        true
    }
    fn fit<S: Sums>(
        &self,
        layout: &FeatureLayout,
        sums: &mut S,
    ) -> Result<(TreeModel, TrainSummary), S::Error> {
        fit(self, layout, sums)
    }
}

impl TreeValidParams {
    /// Bytes a training row's state holds besides its binned columns (see [`row_state_bytes`]).
    pub fn row_state_bytes(&self, weighted: bool) -> u64 {
        let hessian = weighted || self.loss() == Loss::Logistic;
        let (_, _, bootstrap) = self.row_sample();
        row_state_bytes(hessian, bootstrap, weighted)
    }
}

/// Fits `params` on the rows behind `sums`, whose features are laid out as `layout`.
pub fn fit<S: TreeSums>(
    params: &TreeValidParams,
    layout: &FeatureLayout,
    sums: &mut S,
) -> Result<(TreeModel, TrainSummary), S::Error> {
    let started = Instant::now();
    let (sources, sketch) = sums.sketches(layout)?;
    let (sketches, labels, label_sums) = (&sketch.features, &sketch.labels, sketch.label_sums);
    if label_sums.c <= 0.0 {
        return Err(ModelError::EmptyData.into());
    }
    let binning = Binning::new(&sources, sketches, params.max_bins());
    let init = match params.ensemble() {
        Ensemble::Boosting => params.loss().init_score(label_sums.g, label_sums.c, labels),
        _ => 0.0,
    };
    let search = SplitSearch::of(params);
    sums.bin(&binning, init, &search)?;
    let mut trees: Vec<Tree> = Vec::new();
    let (mut train_history, mut valid_history) = (Vec::new(), Vec::new());
    let mut best: Option<(usize, f64)> = None;
    for t in 0..params.trees() {
        let start = tree_start(params, t);
        let tree = grow(params, &binning, &start, sums)?;
        let losses = sums.finish_tree(&tree, &start)?;
        trees.push(Tree::from_bins(&tree, &binning));
        train_history.push(losses.train);
        if let Some(v) = losses.valid {
            valid_history.push(v);
            let better = best.is_none_or(|(_, b)| {
                b - v > params.validation_tol() * v.abs().max(0.01)
                    || (params.validation_tol() == 0.0 && v < b)
            });
            if better {
                best = Some((t, v));
            }
        }
        let stalled = best.is_some_and(|(b, _)| t - b >= params.early_stopping_rounds());
        if params.ensemble() == Ensemble::Boosting && params.early_stopping_rounds() > 0 && stalled
        {
            break;
        }
    }
    let stopped_early = trees.len() < params.trees();
    let keep = match (params.early_stopping_rounds() > 0, best) {
        (true, Some((b, _))) if params.ensemble() == Ensemble::Boosting => b + 1,
        _ => trees.len(),
    };
    trees.truncate(keep);
    let dense = sources
        .iter()
        .filter(|(s, _)| matches!(s, Source::Dense(..)))
        .count();
    let names = (layout.names.clone(), binning.names.clone());
    let model = TreeModel::new(params.clone(), init, trees, names.0, names.1, dense);
    let summary = TrainSummary {
        solver: "histogram".into(),
        iterations: train_history.len(),
        loss_history: train_history,
        converged: stopped_early,
        rows: sums.rows(),
        weight: label_sums.c,
        features: binning.features.len(),
        seconds: started.elapsed().as_secs_f64(),
        validation_history: valid_history,
        best_iteration: best.map(|(b, _)| b + 1),
    };
    Ok((model, summary))
}

/// The start of tree `t`: its target, its row sample.
fn tree_start(params: &TreeValidParams, t: usize) -> TreeStart {
    let (fraction, every, with_replacement) = params.row_sample();
    let target = match params.ensemble() {
        Ensemble::Boosting => Target::Gradient {
            loss: params.loss(),
            alpha: params.huber_alpha(),
        },
        _ => Target::Label,
    };
    TreeStart {
        tree: t,
        target,
        sample: RowSample {
            fraction: if every == 0 { 1.0 } else { fraction },
            round: t.checked_div(every).unwrap_or(0) as u64,
            with_replacement,
            seed: params.seed(),
        },
        ensemble: params.ensemble(),
        loss: params.loss(),
        alpha: params.huber_alpha(),
    }
}

/// Grows one tree best-first: the leaf with the largest gain splits next, until the tree has
/// its leaves, no split gains, or every leaf is at the depth cap or too small.
fn grow<S: TreeSums>(
    params: &TreeValidParams,
    binning: &Binning,
    start: &TreeStart,
    sums: &mut S,
) -> Result<BinTree, S::Error> {
    let search = SplitSearch::of(params);
    let root = sums.start_tree(start)?;
    let mut tree = BinTree::root();
    tree.values[0] = search.output(root, search.l2);
    let mut sampler = FeatureSampler::new(params, binning.features.len(), start.tree);
    let features = sampler.node();
    let mut best: Vec<Option<Split>> = sums.best_splits(&[SplitRequest::Root { features }])?;
    let min_rows = params.min_rows() as f64;
    while tree.leaves() < params.leaves() {
        let Some(leaf) = best_leaf(&best) else { break };
        let split = best[leaf].take().expect("best_leaf found it");
        let right = tree.split(leaf, split.clone());
        sums.split(leaf, &split, right)?;
        // The last split's children never split: their histograms are not built.
        let open = tree.leaves() < params.leaves()
            && tree.depth[leaf] < params.max_depth()
            && (split.left.c >= 2.0 * min_rows || split.right.c >= 2.0 * min_rows);
        let mut choose = |open: bool| if open { sampler.node() } else { Vec::new() };
        let request = SplitRequest::Children {
            left: leaf,
            right,
            left_features: choose(open),
            right_features: choose(open),
        };
        let found = sums.best_splits(&[request])?;
        let mut found = found.into_iter();
        best[leaf] = found.next().flatten();
        best.push(found.next().flatten());
    }
    if params.ensemble() == Ensemble::Boosting && params.loss() == Loss::Absolute {
        // LightGBM's L1 objective: a leaf's value is its rows' median residual.
        let sketches = sums.leaf_residuals(tree.leaves())?;
        for (value, sketch) in tree.values.iter_mut().zip(&sketches) {
            if let Some(median) = sketch.quantile(0.5) {
                *value = median;
            }
        }
    }
    let shrink = match params.ensemble() {
        Ensemble::Boosting => params.learning_rate(),
        _ => 1.0,
    };
    for v in &mut tree.values {
        *v *= shrink;
    }
    Ok(tree)
}

/// The leaf whose best split gains most (ties: the smaller leaf); `None` when none gains.
fn best_leaf(best: &[Option<Split>]) -> Option<usize> {
    let mut found: Option<(usize, f64)> = None;
    for (leaf, split) in best.iter().enumerate() {
        if let Some(s) = split {
            if s.gain > 0.0 && found.is_none_or(|(_, g)| s.gain > g) {
                found = Some((leaf, s.gain));
            }
        }
    }
    found.map(|(leaf, _)| leaf)
}

/// The features a tree may use (LightGBM's `feature_fraction`, drawn per tree) and those each
/// node may split on (MLlib's `featureSubsetStrategy`, drawn per node).
struct FeatureSampler {
    tree_features: Vec<usize>,
    per_node: usize,
    rng: Pcg64,
}

impl FeatureSampler {
    fn new(params: &TreeValidParams, n: usize, tree: usize) -> Self {
        let mut rng =
            Pcg64::seed_from_u64(params.seed() ^ (tree as u64).wrapping_mul(0xA24B_AED4_963E_E407));
        let keep = ((n as f64 * params.feature_fraction()).round() as usize).clamp(n.min(1), n);
        let mut tree_features: Vec<usize> = match keep < n {
            true => sample(&mut rng, n, keep).into_vec(),
            false => (0..n).collect(),
        };
        tree_features.sort_unstable();
        let task = params.task();
        // MLlib's `auto` samples per node only in a forest of several trees (a boosted model's
        // trees are each a forest of one).
        let forest = match params.ensemble() {
            Ensemble::Forest => params.trees(),
            _ => 1,
        };
        let per_node = params
            .feature_subset_strategy()
            .count(tree_features.len(), forest, task);
        FeatureSampler {
            tree_features,
            per_node,
            rng,
        }
    }

    /// The features of the next node (in ascending order).
    fn node(&mut self) -> Vec<usize> {
        let n = self.tree_features.len();
        if self.per_node >= n {
            return self.tree_features.clone();
        }
        let mut picked: Vec<usize> = sample(&mut self.rng, n, self.per_node)
            .into_iter()
            .map(|i| self.tree_features[i])
            .collect();
        picked.sort_unstable();
        picked
    }
}

impl std::fmt::Debug for FeatureSampler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FeatureSampler")
            .field("tree_features", &self.tree_features)
            .field("per_node", &self.per_node)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_samples_are_deterministic_and_about_the_fraction() {
        let s = RowSample {
            fraction: 0.3,
            round: 2,
            with_replacement: false,
            seed: 7,
        };
        let kept: f64 = (0..10_000).map(|i| s.weight(1, i)).sum();
        assert!((2_800.0..3_200.0).contains(&kept), "{kept}");
        assert_eq!(s.weight(3, 17), s.weight(3, 17));
        let boot = RowSample {
            fraction: 1.0,
            with_replacement: true,
            ..s
        };
        let weights: Vec<f64> = (0..20_000).map(|i| boot.weight(0, i)).collect();
        let mean = weights.iter().sum::<f64>() / weights.len() as f64;
        let zeros = weights.iter().filter(|&&w| w == 0.0).count() as f64 / weights.len() as f64;
        assert!((mean - 1.0).abs() < 0.03, "Poisson(1) mean {mean}");
        assert!((zeros - (-1.0f64).exp()).abs() < 0.02, "P(0) {zeros}");
    }
}
