//! Everything a sweep logs to MLflow: the parent run (the sweep's settings, `best_<param>`, the
//! best metric, `search_results.csv`, `best_parameters.json`, the best model) and one child run
//! per trial (its full params, `avg_<metric>`/`std_<metric>` per rung, its learning curve),
//! tagged `mlflow.parentRunId`. Logging never fails a trial: a child's error is a warning.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;

use crate::model::Learner;
use crate::tracking::{RunHandle, RunSpec, Status, Tracker};
use crate::train::report::Report;
use crate::train::JobError;

use super::model_out::save_best;
use super::param::ParamSet;
use super::results::write_result_files;
use super::summary::TuneSummary;
use super::trial::{TrialResult, TrialStatus};
use super::{Metric, TuneConfig, TuneError};

/// The sweep's child runs, one per trial while it is alive.
pub struct Children<'a> {
    tracker: Option<&'a Tracker>,
    parent: Option<&'a RunHandle>,
    runs: Mutex<HashMap<usize, RunHandle>>,
}

impl<'a> Children<'a> {
    /// Children of `parent` on `tracker`; without either, nothing is logged.
    pub fn new(tracker: Option<&'a Tracker>, parent: Option<&'a RunHandle>) -> Self {
        Children {
            tracker,
            parent,
            runs: Mutex::default(),
        }
    }

    /// Starts trial `index`'s child run with its params (the job's, then the swept ones) and
    /// returns its id; a failure to start is logged, not fatal.
    pub fn start(
        &self,
        index: usize,
        set: &ParamSet,
        config: &TuneConfig,
        learner: Option<&Learner>,
    ) -> Option<String> {
        let (tracker, parent) = (self.tracker?, self.parent?);
        let spec = RunSpec {
            run_name: Some(set.name()),
            parent_run_id: Some(parent.run_id().to_string()),
            tags: vec![("distml.job".into(), "tune-trial".into())],
            ..Default::default()
        };
        let run = match tracker.start_run(spec) {
            Ok(run) => run,
            Err(e) => {
                tracing::warn!("starting the run of trial {}: {e}", set.name());
                return None;
            }
        };
        let mut params = match learner {
            Some(l) => trial_params(config, l),
            None => Vec::new(),
        };
        params.extend(
            set.0
                .iter()
                .map(|(p, v)| (p.key().to_string(), v.to_string())),
        );
        if let Err(e) = run.log_params(&params) {
            tracing::warn!("logging trial params: {e}");
        }
        let id = run.run_id().to_string();
        if let Ok(mut runs) = self.runs.lock() {
            runs.insert(index, run);
        }
        Some(id)
    }

    /// Logs a rung's result on trial `index`'s child: avg/std at step = the rung's budget, the
    /// other averaged metrics, and the first fold's learning curve.
    pub fn log_rung(&self, index: usize, r: &TrialResult, metric: Metric) {
        let Ok(runs) = self.runs.lock() else { return };
        let Some(run) = runs.get(&index) else { return };
        let m = metric.name();
        let mut points: Vec<(String, f64)> = Vec::new();
        if let (Some(mean), Some(std)) = (r.metric, r.std) {
            points.push((format!("avg_{m}"), mean));
            points.push((format!("std_{m}"), std));
        }
        points.extend(
            r.metrics
                .iter()
                .map(|(k, v)| (format!("avg_{k}"), *v))
                .filter(|(k, _)| *k != format!("avg_{m}")),
        );
        points.push(("iterations".into(), r.iterations as f64));
        let refs: Vec<(&str, f64)> = points.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        let mut result = run.log_metrics(&refs, r.budget as i64);
        for (s, loss) in r.learning_curve.iter().enumerate() {
            if loss.is_finite() {
                result = result.and(run.log_metric("training_loss", *loss, s as i64));
            }
        }
        if let Err(e) = result {
            tracing::warn!("logging trial {}: {e}", r.name);
        }
    }

    /// Ends trial `index`'s child: FINISHED, KILLED (stopped by the scheduler) or FAILED.
    pub fn finish(&self, index: usize, r: &TrialResult) {
        let Some(run) = self.runs.lock().ok().and_then(|mut m| m.remove(&index)) else {
            return;
        };
        let _ = run.set_tag(
            "distml.trial_status",
            &format!("{:?}", r.status).to_uppercase(),
        );
        let status = match r.status {
            TrialStatus::Finished => Status::Finished,
            TrialStatus::Stopped => Status::Killed,
            TrialStatus::Failed => Status::Failed {
                error: r.error.clone().unwrap_or_default(),
            },
        };
        if let Err(e) = run.finish(status) {
            tracing::warn!("finishing trial {}: {e}", r.name);
        }
    }
}

/// A trial's params: the sweep's job with the trial's learner.
fn trial_params(config: &TuneConfig, learner: &Learner) -> Vec<(String, String)> {
    let mut job = config.job.clone();
    job.learner = learner.clone();
    job.mlflow_params(0)
}

/// The parent's params: the job's (its learner's defaults) and the sweep's own.
pub fn log_sweep_params(
    run: &RunHandle,
    config: &TuneConfig,
    trials: usize,
) -> Result<(), JobError> {
    let mut params = config.job.mlflow_params(0);
    params.extend(config.mlflow_params(trials));
    Report::new(Some(run)).params(&params)
}

/// The parent's results: `best_<param>` params, the best metric and the refit's metrics, the
/// best run's id, `search_results.csv` and `best_parameters.json`, and the best model (from
/// `model_dir`) under `best_model`.
pub fn log_sweep_results(
    run: &RunHandle,
    sets: &[ParamSet],
    summary: &TuneSummary,
    model_dir: Option<&Path>,
) -> Result<(), JobError> {
    let metric: Metric = summary
        .metric
        .parse()
        .map_err(|e: TuneError| JobError::Invalid {
            flag: "--metric",
            message: e.to_string(),
        })?;
    if let Some(best) = &summary.best {
        let p: Vec<(String, String)> = sets[best.index]
            .0
            .iter()
            .map(|(k, v)| (format!("best_{}", k.key()), v.to_string()))
            .collect();
        run.log_params(&p)?;
        let name = format!("best_{}", metric.name());
        let std_name = format!("best_std_{}", metric.name());
        let mut points = vec![(name.as_str(), best.metric), (std_name.as_str(), best.std)];
        points.extend(summary.job.metrics.iter().map(|(k, v)| (k.as_str(), *v)));
        points.push(("iterations_total", summary.iterations_total as f64));
        run.log_metrics(&points, 0)?;
        run.set_tag("distml.best_run_id", best.run_id.as_deref().unwrap_or(""))?;
    }
    let io = |e: std::io::Error| JobError::Io {
        path: "sweep result files".into(),
        source: e,
    };
    let tmp = tempfile::tempdir().map_err(io)?;
    write_result_files(tmp.path(), &summary.trials, summary.best.as_ref(), metric).map_err(io)?;
    run.log_artifacts(tmp.path(), "")?;
    if let Some(dir) = model_dir {
        run.log_artifacts(dir, "best_model")?;
    }
    Ok(())
}

/// Runs the sweep as an MLflow parent run on `tracker`: created first (with the sweep's
/// params), a child per trial, the results and the best model logged, finished last — or
/// FAILED with the error. Saves the best model to `--model-out` when given.
pub fn run_tune_tracked(config: &TuneConfig, tracker: &Tracker) -> Result<TuneSummary, TuneError> {
    let (sets, _) = super::plan(config)?;
    crate::train::report::check_registration(&config.job, tracker)?;
    let parent = tracker
        .start_run(RunSpec {
            run_name: config.job.tracking.run_name.clone(),
            tags: vec![("distml.job".into(), "tune".into())],
            ..Default::default()
        })
        .map_err(JobError::from)?;
    log_sweep_params(&parent, config, sets.len())?;
    eprintln!(
        "tune: {} trials, parent run {}",
        sets.len(),
        parent.run_id()
    );
    let outcome = match super::run_tune(config, Some(tracker), Some(&parent)) {
        Ok(outcome) => outcome,
        Err(error) => {
            crate::train::report::fail_run(parent, &error);
            return Err(error);
        }
    };
    let mut summary = outcome.summary.clone();
    let tmp = tempfile::tempdir().map_err(|source| JobError::Io {
        path: "temporary directory".into(),
        source,
    })?;
    let model_dir = match &config.job.outputs.model_out {
        Some(dir) => dir.clone(),
        None => tmp.path().join("model"),
    };
    let saved = save_best(&model_dir, config, &outcome)?;
    if saved && config.job.outputs.model_out.is_some() {
        summary.job.model_dir = Some(model_dir.display().to_string());
    }
    log_sweep_results(
        &parent,
        &sets,
        &summary,
        saved.then_some(model_dir.as_path()),
    )?;
    summary.job.run_id = Some(parent.run_id().to_string());
    summary.job.tracking_uri = Some(tracker.uri());
    let failed = summary.trials.iter().filter(|t| t.error.is_some()).count();
    if failed > 0 {
        eprintln!("tune: {failed} trial(s) FAILED (see `trials[].error`)");
    }
    let report = parent.finish(Status::Finished).map_err(JobError::from)?;
    if let Some(error) = &report.error {
        eprintln!(
            "warning: run {} is kept in the local store ({error}); `distml runs sync` sends it later",
            report.run_id
        );
    }
    if let (Some(name), true) = (&config.job.outputs.register_model, saved) {
        let source = format!("runs:/{}/best_model", report.run_id);
        summary.job.registered_model = Some(crate::train::report::register(
            tracker, name, &source, &report, None,
        )?);
    }
    Ok(summary)
}
