//! The aggregation interface between learners and trainers. A learner's fit is written once,
//! against the mergeable per-block sums it needs; a trainer provides them — the local trainer
//! by a rayon tree reduce over its blocks, the cluster by rounds of worker pushes summed on the
//! parameter-server shards, tuning from its cached fold statistics.

use crate::feature::FeatureLayout;

use super::glm::{BlockGradient, FeatureStats, GlmValidParams, NormalEquations, Objective};
use super::solve::SolverRun;
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

/// Everything a trainer must provide so that every learner family fits on it.
pub trait Sums: GlmSums {}

impl<T: GlmSums> Sums for T {}
