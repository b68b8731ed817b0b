//! The aggregation interface between learners and trainers. A learner's fit is written once,
//! against the mergeable per-block sums it needs; a trainer provides them — the local trainer
//! by a rayon tree reduce over its blocks, the cluster by rounds of worker pushes summed on the
//! parameter-server shards, tuning from its cached fold statistics.

use crate::feature::FeatureLayout;

use super::glm::{BlockGradient, FeatureStats, GlmValidParams, NormalEquations, Objective};
use super::solve::SolverRun;
use super::trees::{
    BinTree, Binning, DataSketch, Losses, NodeSums, Source, Split, SplitRequest, SplitSearch,
    TreeStart, ValueSketch,
};

/// What [`TreeSums::sketches`] returns: the tree features (source and name) and the training
/// rows' merged sketch.
pub type TreeSketches = (Vec<(Source, String)>, DataSketch);
use super::{Family, ModelError};

/// What every trainer has: its error type and the rows it fits on.
pub trait Trainer {
    /// The trainer's error; every learner error converts into it.
    type Error: From<ModelError>;
    /// Rows the sums cover (known once the first sum was computed).
    fn rows(&self) -> usize;
}

/// The sums a generalised linear model is fitted from, over all of a trainer's rows.
pub trait GlmSums: Trainer {
    /// The normal equations (merged Gram statistics) for `layout`'s features, computed once.
    fn normal_equations(&mut self, layout: &FeatureLayout)
        -> Result<&NormalEquations, Self::Error>;
    /// Feature statistics (weights, sums, squares and the label sum) for `layout`'s features.
    fn feature_stats(&mut self, layout: &FeatureLayout) -> Result<FeatureStats, Self::Error>;
    /// Loss and gradient of `family` at coefficients `beta` and `intercept`.
    fn loss_gradient(
        &mut self,
        family: Family,
        beta: &[f64],
        intercept: f64,
    ) -> Result<BlockGradient, Self::Error>;
    /// Stochastic gradient descent is each trainer's own strategy (mini-batches over local
    /// blocks; Adam steps on the shards): it runs from `start` (the objective's coordinates)
    /// for `params.max_iter()` epochs and returns the trajectory.
    fn sgd(
        &mut self,
        params: &GlmValidParams,
        objective: &Objective,
        start: Vec<f64>,
    ) -> Result<SolverRun, Self::Error>;
}

/// The sums histogram trees are grown from. A trainer bins its rows once, then keeps, per row,
/// the bins, the score, the gradient and hessian of the current tree and the leaf it is in;
/// the learner asks for each leaf's best split and says which splits to make.
pub trait TreeSums: Trainer {
    /// The tree features of `layout` and the sketch of the training rows.
    fn sketches(&mut self, layout: &FeatureLayout) -> Result<TreeSketches, Self::Error>;
    /// Bins the training (and validation) rows with `binning`, every score starting at `init`;
    /// splits are searched with `search` from now on.
    fn bin(
        &mut self,
        binning: &Binning,
        init: f64,
        search: &SplitSearch,
    ) -> Result<(), Self::Error>;
    /// Starts a tree: each training row's gradient and hessian, its sample weight (bagging), all
    /// sampled rows in the root leaf. Returns the root's sums.
    fn start_tree(&mut self, start: &TreeStart) -> Result<NodeSums, Self::Error>;
    /// The best split of each requested leaf (`None`: no split beats it).
    fn best_splits(&mut self, requests: &[SplitRequest])
        -> Result<Vec<Option<Split>>, Self::Error>;
    /// Moves the rows of leaf `leaf` that `split` sends right to the new leaf `right`.
    fn split(&mut self, leaf: usize, split: &Split, right: usize) -> Result<(), Self::Error>;
    /// Sketches of the residuals (label − score) of each of the first `leaves` leaves' rows, for
    /// re-fitting leaf values to the median (absolute loss).
    fn leaf_residuals(&mut self, leaves: usize) -> Result<Vec<ValueSketch>, Self::Error>;
    /// Ends the tree: adds its leaf values to every row's score (training and validation rows,
    /// sampled or not) and returns the mean losses at the new scores.
    fn finish_tree(&mut self, tree: &BinTree, start: &TreeStart) -> Result<Losses, Self::Error>;
}

/// Everything a trainer must provide so that every learner family fits on it.
pub trait Sums: GlmSums + TreeSums {}

impl<T: GlmSums + TreeSums> Sums for T {}
