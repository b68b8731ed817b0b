//! The sweep's own settings: `distml tune`'s flags and the job file's `[tune]` table, checked
//! into a [`TuneConfig`] against the job's learner.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::train::{config::overlay, JobConfig};

use super::{Axis, Metric, Scheduler, Search, TuneError};

/// Seed of random search and of the folds, unless `--seed` says otherwise.
pub const DEFAULT_SEED: u64 = 42;
/// Trials run at once, unless `--parallel` says otherwise.
pub const DEFAULT_PARALLEL: usize = 2;

/// The sweep flags as given (and the `[tune]` table of a job file).
#[derive(Debug, Clone, Default, PartialEq, clap::Args, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct TuneSettings {
    /// A swept parameter (repeatable): `reg=0,0.01,0.1`, `reg=loguniform(1e-4,1)`,
    /// `max-iter=randint(10,100)`, `solver=choice(lbfgs,sgd)`; keys are the learner's flag names.
    #[arg(long = "grid")]
    pub grid: Vec<String>,
    /// `grid` (every combination, the default) or `random:N` (N seeded draws).
    #[arg(long)]
    pub search: Option<String>,
    /// Seed of random search and of the folds (default 42).
    #[arg(long)]
    pub seed: Option<u64>,
    /// K-fold cross-validation on --data (stratified for classification).
    #[arg(long)]
    pub folds: Option<usize>,
    /// Selection metric: rmse, mae, r2, logloss or auc (default rmse / logloss).
    #[arg(long)]
    pub metric: Option<String>,
    /// none (default), or asha (successive halving on iterations, η = 3; `asha:η`).
    #[arg(long)]
    pub scheduler: Option<String>,
    /// Trials run at once (threads; default 2).
    #[arg(long)]
    pub parallel: Option<usize>,
    /// Resume state file (default: `<summary>.state.jsonl` when --summary is given).
    #[arg(long)]
    pub state: Option<PathBuf>,
    /// Skip the trials the state file records as finished.
    #[arg(long)]
    pub resume: bool,
}

/// Everything `distml tune` needs besides the tracker, checked.
#[derive(Debug, Clone)]
pub struct TuneConfig {
    /// The base job (data, features, learner defaults, outputs).
    pub job: JobConfig,
    /// The swept parameters.
    pub axes: Vec<Axis>,
    /// Grid or random search.
    pub search: Search,
    /// Seed of random search and of the folds.
    pub seed: u64,
    /// `--folds K`.
    pub folds: Option<usize>,
    /// `--metric` (default: rmse, or logloss for classification).
    pub metric: Option<Metric>,
    /// `--scheduler`.
    pub scheduler: Scheduler,
    /// Trials at once.
    pub parallel: usize,
    /// The resume state file.
    pub state: Option<PathBuf>,
    /// Skip trials the state file holds.
    pub resume: bool,
}

impl TuneSettings {
    /// The job file's `[tune]` table with these flags over it (`--grid` flags replace the
    /// file's grid), checked against `job`'s learner.
    pub fn resolve(&self, job: JobConfig, file: toml::Table) -> Result<TuneConfig, TuneError> {
        let from_file: TuneSettings = toml::Value::Table(file)
            .try_into()
            .map_err(|e: toml::de::Error| TuneError::invalid("--config", format!("[tune]: {e}")))?;
        let s = overlay(from_file, self);
        let axes = s
            .grid
            .iter()
            .map(|g| Axis::parse(g, &job.learner))
            .collect::<Result<Vec<_>, _>>()?;
        let state = s.state.clone().or_else(|| {
            job.outputs.summary.as_ref().map(|summary| {
                let mut p = summary.clone().into_os_string();
                p.push(".state.jsonl");
                PathBuf::from(p)
            })
        });
        if s.resume && state.is_none() {
            let why = "needs --state PATH or --summary FILE (the state is kept next to it)";
            return Err(TuneError::invalid("--resume", why));
        }
        Ok(TuneConfig {
            axes,
            search: s.search.as_deref().unwrap_or("grid").parse()?,
            seed: s.seed.unwrap_or(DEFAULT_SEED),
            folds: s.folds,
            metric: s.metric.as_deref().map(str::parse).transpose()?,
            scheduler: Scheduler::parse(s.scheduler.as_deref().unwrap_or("none"))?,
            parallel: s.parallel.unwrap_or(DEFAULT_PARALLEL),
            state,
            resume: s.resume,
            job,
        })
    }
}

impl TuneConfig {
    /// The sweep's own settings as MLflow params (`tune.search`, `tune.grid.<key>`, ...).
    pub fn mlflow_params(&self, trials: usize) -> Vec<(String, String)> {
        let mut params = vec![
            ("tune.search".to_string(), self.search.label()),
            ("tune.trials".into(), trials.to_string()),
            (
                "tune.folds".into(),
                self.folds.map_or("none".into(), |k| k.to_string()),
            ),
            ("tune.scheduler".into(), self.scheduler.label()),
            ("tune.parallel".into(), self.parallel.to_string()),
            ("tune.seed".into(), self.seed.to_string()),
        ];
        if let Some(m) = self.metric {
            params.push(("tune.metric".into(), m.name().into()));
        }
        for axis in &self.axes {
            params.push((format!("tune.grid.{}", axis.param.key()), axis.values()));
        }
        params
    }
}
