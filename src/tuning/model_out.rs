//! Saving the refitted best model as a model directory (what `distml predict` loads).

use std::path::Path;

use crate::model::ModelDirectory;
use crate::train::JobError;

use super::sweep::TuneOutcome;
use super::TuneConfig;

/// Saves the best model of `outcome` to `dir`, with the sweep's job (the best learner in it) as
/// its settings; `Ok(false)` when no trial finished.
pub fn save_best(dir: &Path, config: &TuneConfig, outcome: &TuneOutcome) -> Result<bool, JobError> {
    let Some((learner, model, training)) = &outcome.model else {
        return Ok(false);
    };
    let mut job = config.job.clone();
    job.learner = learner.clone();
    let json = |v: serde_json::Result<serde_json::Value>| v.unwrap_or(serde_json::Value::Null);
    ModelDirectory::new(
        outcome.pipeline.clone(),
        model.clone(),
        json(serde_json::to_value(&job)),
        json(serde_json::to_value(training)),
        outcome.summary.job.final_metrics(),
    )
    .save(dir)?;
    Ok(true)
}
