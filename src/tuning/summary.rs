//! The sweep's summary JSON: train's summary fields plus the sweep, its `trials` and `best`.

use serde::Serialize;

use crate::train::JobSummary;

use super::trial::TrialResult;

/// The best trial.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct BestTrial {
    /// Its position in `trials`.
    pub index: usize,
    /// Its run name.
    pub name: String,
    /// Its parameters (train flag names).
    pub params: serde_json::Map<String, serde_json::Value>,
    /// Its mean metric.
    pub metric: f64,
    /// Its metric's standard deviation over folds.
    pub std: f64,
    /// Its MLflow child run.
    pub run_id: Option<String>,
}

/// `distml tune`'s summary (printed last on stdout, `--summary FILE`).
#[derive(Debug, Clone, Serialize)]
pub struct TuneSummary {
    /// Train's fields, for the best parameters refitted on all training rows (`job` = `tune`;
    /// metrics on `--valid` when given, else the best trial's fold averages).
    #[serde(flatten)]
    pub job: JobSummary,
    /// The selection metric.
    pub metric: String,
    /// `minimize` or `maximize`.
    pub direction: String,
    /// `grid` or `random:N`.
    pub search: String,
    /// Folds (1: a single validation set).
    pub folds: usize,
    /// `none` or `asha:η`.
    pub scheduler: String,
    /// Trials run at once.
    pub parallel: usize,
    /// Solver iterations spent by all trials over all folds and rungs.
    pub iterations_total: usize,
    /// Iterations the full grid could spend at most (trials × folds × max-iter).
    pub iterations_budget: usize,
    /// Trials skipped because `--resume` found them finished.
    pub resumed: usize,
    /// One record per trial.
    pub trials: Vec<TrialResult>,
    /// The best finished trial.
    pub best: Option<BestTrial>,
}
