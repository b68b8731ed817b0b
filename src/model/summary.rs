//! What a fit reports besides the model.

use serde::{Deserialize, Serialize};

/// Training summary: solver, iterations, objective history, rows and time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainSummary {
    /// The solver that ran (`normal`, `lbfgs`, `sgd`; `Auto` resolved).
    pub solver: String,
    /// Iterations (L-BFGS), coordinate-descent sweeps or epochs (SGD); 1 for a direct solve.
    pub iterations: usize,
    /// Objective (mean loss + penalty) at the start and after each iteration.
    pub loss_history: Vec<f64>,
    /// Whether the solver met its convergence test before `maxIter`.
    pub converged: bool,
    /// Training rows (all blocks).
    pub rows: usize,
    /// Σ of row weights.
    pub weight: f64,
    /// Number of features.
    pub features: usize,
    /// Wall-clock seconds of the fit.
    pub seconds: f64,
    /// Mean validation loss after each iteration (trees with validation rows).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub validation_history: Vec<f64>,
    /// The iteration with the best validation loss (1-based), when there was validation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub best_iteration: Option<usize>,
}
