//! Saving the refitted best model as a model directory (what `distml predict` loads).

use std::path::Path;

use crate::model::ModelDirectory;
use crate::train::{JobError, TrainConfig};

use super::sweep::TuneOutcome;

/// Saves the best model of `outcome` (trained with `config`, the best params applied) to `dir`;
/// `Ok(false)` when no trial finished.
pub fn save_best(
    dir: &Path,
    config: &TrainConfig,
    outcome: &TuneOutcome,
) -> Result<bool, JobError> {
    let Some((model, training)) = &outcome.model else {
        return Ok(false);
    };
    let s = &outcome.summary.job;
    let mut metrics: std::collections::BTreeMap<String, f64> = [
        ("rmse", s.rmse),
        ("mae", s.mae),
        ("r2", s.r2),
        ("logloss", s.logloss),
        ("auc", s.auc),
        ("accuracy", s.accuracy),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.map(|v| (k.to_string(), v)))
    .collect();
    metrics.extend(
        s.train_metrics
            .iter()
            .map(|(k, v)| (format!("training_{k}"), *v)),
    );
    let json = |v: serde_json::Result<serde_json::Value>| v.unwrap_or(serde_json::Value::Null);
    ModelDirectory::new(
        outcome.pipeline.clone(),
        model.clone(),
        json(serde_json::to_value(config)),
        json(serde_json::to_value(training)),
        metrics,
    )
    .save(dir)?;
    Ok(true)
}
