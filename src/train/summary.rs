//! The summary JSON of `train` (and the core of `tune`'s): printed as the last stdout line and
//! written to `--summary FILE`. It carries the metrics that exist — a regression job has no
//! `auc` key rather than `"auc": null`.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::feature::FittedPipeline;
use crate::model::{Metrics, TrainSummary};

use super::store::Placement;
use super::JobConfig;

/// The validation metrics the summary shows at the top level, per task.
const HEADLINE: [&str; 6] = ["rmse", "mae", "r2", "logloss", "auc", "accuracy"];

/// Wall-clock seconds per phase.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct PhaseSeconds {
    /// Opening the inputs: file footers and headers read, partitions planned. (Rows are read as
    /// they stream through the feature pipeline, so reading is part of `features`.)
    pub open: f64,
    /// Reading the partitions, fitting the feature pipeline and transforming every partition.
    pub features: f64,
    /// Fitting the learner (distributed: the workers' whole fit, pipeline included).
    pub train: f64,
    /// Scoring training and validation data.
    pub evaluate: f64,
    /// The whole job.
    pub total: f64,
}

/// The job's result: DESIGN.md's summary JSON.
#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct JobSummary {
    /// `train` or `tune`.
    pub job: String,
    /// The learner (`linear`, `ridge`, ...).
    pub model: String,
    /// Training rows after the feature pipeline.
    pub rows_train: u64,
    /// Validation rows after the feature pipeline.
    pub rows_valid: u64,
    /// How the validation rows were chosen.
    pub validation: String,
    /// Number of features.
    pub features: usize,
    /// Validation metrics: `rmse`, `mae`, `r2` (regression) or `logloss`, `auc`, `accuracy`
    /// (classification); absent without validation rows.
    #[serde(flatten)]
    pub metrics: BTreeMap<String, f64>,
    /// Training-set metrics.
    pub train_metrics: Metrics,
    /// Solver iterations (trees: the trees grown).
    pub iterations: usize,
    /// Trees in the model (a boosted model keeps those up to its best iteration).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trees: Option<usize>,
    /// The iteration with the best validation loss (trees with validation rows).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub best_iteration: Option<usize>,
    /// The solver that ran.
    pub solver: String,
    /// Worker processes (0: in-process rayon trainer).
    pub workers: usize,
    /// Rows dropped by the pipeline, per reason (training input).
    pub rows_dropped: BTreeMap<String, u64>,
    /// Where the training blocks were kept between passes (in memory, spilled, streamed).
    pub blocks: Placement,
    /// Seconds per phase.
    pub seconds: PhaseSeconds,
    /// The tracking run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    /// Where the run was logged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tracking_uri: Option<String>,
    /// The saved model directory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_dir: Option<String>,
    /// The MLflow 3 logged model (`m-…`) when the server has them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logged_model_id: Option<String>,
    /// The registered model version made by `--register-model` (`models:/NAME/VERSION`, a
    /// source `distml serve` takes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registered_model: Option<String>,
}

impl JobSummary {
    /// A train job's summary with what the fit knows; rows, metrics and outputs follow.
    pub fn train(
        config: &JobConfig,
        pipeline: &FittedPipeline,
        training: &TrainSummary,
        workers: usize,
    ) -> Self {
        JobSummary {
            job: "train".into(),
            model: config.learner.model.as_str().into(),
            features: pipeline.layout().width(),
            iterations: training.iterations,
            best_iteration: training.best_iteration,
            solver: training.solver.clone(),
            workers,
            ..Default::default()
        }
    }

    /// Sets the headline validation metrics (those `valid` has) and the training metrics.
    pub fn set_metrics(&mut self, valid: &Metrics, train: Metrics) {
        self.metrics = HEADLINE
            .iter()
            .filter_map(|k| valid.get(*k).map(|v| (k.to_string(), *v)))
            .collect();
        self.train_metrics = train;
    }

    /// A headline validation metric, if the job has it.
    pub fn metric(&self, name: &str) -> Option<f64> {
        self.metrics.get(name).copied()
    }

    /// The metrics a saved model records: validation unprefixed, training `training_`-prefixed.
    pub fn final_metrics(&self) -> BTreeMap<String, f64> {
        let mut out = self.metrics.clone();
        out.extend(
            self.train_metrics
                .iter()
                .map(|(k, v)| (format!("training_{k}"), *v)),
        );
        out
    }
}
