//! `distml tune`: train's flags plus a search space → parallel trials (nested MLflow runs) →
//! the best model refitted and saved → summary JSON.

use std::path::{Path, PathBuf};

use clap::Args;
use distml::tracking::{RunHandle, RunSpec, Status, Tracker, TrackingOverrides};
use distml::tuning::{
    model_out::save_best, results::write_result_files, run_tune, Axis, Metric, ParamSet, Scheduler,
    Search, TuneConfig, TuneOutcome,
};

use super::train::{default_data, print_summary, TrainArgs};

/// `distml tune` flags.
#[derive(Debug, Clone, Args)]
pub(crate) struct TuneArgs {
    #[command(flatten)]
    train: TrainArgs,
    /// A swept parameter (repeatable): `reg=0,0.01,0.1`, `reg=loguniform(1e-4,1)`,
    /// `max-iter=randint(10,100)`, `solver=choice(lbfgs,sgd)`; keys are train's flag names.
    #[arg(long = "grid")]
    grid: Vec<String>,
    /// `grid` (every combination) or `random:N` (N seeded draws).
    #[arg(long, default_value = "grid")]
    search: String,
    /// Seed of random search and of the folds.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// K-fold cross-validation on --data (stratified for classification).
    #[arg(long)]
    folds: Option<usize>,
    /// Selection metric: rmse, mae, r2, logloss or auc (default rmse / logloss).
    #[arg(long)]
    metric: Option<String>,
    /// none, or asha (successive halving on iterations, η = 3; `asha:η`).
    #[arg(long, default_value = "none")]
    scheduler: String,
    /// Trials run at once (threads).
    #[arg(long, default_value_t = 2)]
    parallel: usize,
    /// Resume state file (default: `<summary>.state.jsonl` when --summary is given).
    #[arg(long)]
    state: Option<PathBuf>,
    /// Skip the trials the state file records as finished.
    #[arg(long)]
    resume: bool,
}

impl TuneArgs {
    fn to_config(&self) -> anyhow::Result<TuneConfig> {
        let mut train = self.train.to_config()?;
        // --grid flags win over the job file's `grid = [...]`.
        if !self.grid.is_empty() {
            train.grid = self.grid.clone();
        }
        let axes = train
            .grid
            .iter()
            .map(|g| Axis::parse(g))
            .collect::<Result<Vec<_>, _>>()?;
        let state = self.state.clone().or_else(|| {
            train.summary.as_ref().map(|s| {
                let mut p = s.clone().into_os_string();
                p.push(".state.jsonl");
                PathBuf::from(p)
            })
        });
        if self.resume && state.is_none() {
            return Err(super::exit::UsageError(
                "--resume needs --state PATH or --summary FILE (the state is kept next to it)"
                    .into(),
            )
            .into());
        }
        Ok(TuneConfig {
            train,
            axes,
            search: self.search.parse::<Search>()?,
            seed: self.seed,
            folds: self.folds,
            metric: self
                .metric
                .as_deref()
                .map(str::parse::<Metric>)
                .transpose()?,
            scheduler: Scheduler::parse(&self.scheduler)?,
            parallel: self.parallel,
            state,
            resume: self.resume,
        })
    }
}

pub(crate) fn run(args: TuneArgs) -> anyhow::Result<()> {
    let mut config = args.to_config()?;
    let (sets, _) = distml::tuning::plan(&config)?; // bad flags fail before any work
    let _generated = default_data(&mut config.train, args.train.generated_rows())?;
    let tracker = Tracker::from_env(TrackingOverrides {
        tracking_uri: config.train.tracking_uri.clone(),
        experiment: config.train.experiment.clone(),
        run_name: config.train.run_name.clone(),
    })?;
    let parent = tracker.start_run(RunSpec {
        run_name: config.train.run_name.clone(),
        tags: vec![("distml.job".into(), "tune".into())],
        ..Default::default()
    })?;
    log_sweep_params(&parent, &config, sets.len())?;
    eprintln!(
        "tune: {} trials, parent run {}",
        sets.len(),
        parent.run_id()
    );
    let outcome = match run_tune(&config, Some(&tracker), Some(&parent)) {
        Ok(o) => o,
        Err(error) => {
            let _ = parent.finish(Status::Failed {
                error: format!("{error}"),
            });
            return Err(error.into());
        }
    };
    let mut summary = outcome.summary.clone();
    if let (Some(dir), Some(best)) = (&config.train.model_out, &summary.best) {
        let best_config = sets[best.index].apply(&config.train);
        if save_best(dir, &best_config, &outcome)? {
            summary.job.model_dir = Some(dir.display().to_string());
        }
    }
    log_results(
        &parent,
        &config,
        &sets,
        &outcome,
        summary.job.model_dir.as_deref(),
    )?;
    summary.job.run_id = Some(parent.run_id().to_string());
    summary.job.tracking_uri = Some(tracker.uri());
    let failed = summary.trials.iter().filter(|t| t.error.is_some()).count();
    if failed > 0 {
        eprintln!("tune: {failed} trial(s) FAILED (see `trials[].error`)");
    }
    let report = parent.finish(Status::Finished)?;
    if let Some(error) = report.error {
        eprintln!("warning: run {} is kept in the local store ({error}); `distml runs sync` sends it later", report.run_id);
    }
    print_summary(&summary, config.train.summary.as_deref())
}

fn log_sweep_params(run: &RunHandle, config: &TuneConfig, trials: usize) -> anyhow::Result<()> {
    let base = config.train.learner_params()?;
    let mut params = config.train.mlflow_params(&base);
    params.push((
        "tune.search".into(),
        match config.search {
            Search::Grid => "grid".into(),
            Search::Random { n } => format!("random:{n}"),
        },
    ));
    params.push(("tune.trials".into(), trials.to_string()));
    params.push((
        "tune.folds".into(),
        config.folds.map_or("none".into(), |k| k.to_string()),
    ));
    params.push(("tune.scheduler".into(), config.scheduler.label()));
    params.push(("tune.parallel".into(), config.parallel.to_string()));
    params.push(("tune.seed".into(), config.seed.to_string()));
    if let Some(m) = config.metric {
        params.push(("tune.metric".into(), m.name().into()));
    }
    for (g, spec) in config.axes.iter().zip(&config.train.grid) {
        let values = spec
            .split_once('=')
            .map_or(spec.as_str(), |(_, v)| v.trim());
        params.push((format!("tune.grid.{}", g.param.key()), values.to_string()));
    }
    run.log_params(&params)?;
    Ok(())
}

fn log_results(
    run: &RunHandle,
    config: &TuneConfig,
    sets: &[ParamSet],
    outcome: &TuneOutcome,
    model_dir: Option<&str>,
) -> anyhow::Result<()> {
    let s = &outcome.summary;
    let metric: Metric = s.metric.parse()?;
    if let Some(best) = &s.best {
        let p: Vec<(String, String)> = sets[best.index]
            .0
            .iter()
            .map(|(k, v)| (format!("best_{}", k.key()), v.to_string()))
            .collect();
        run.log_params(&p)?;
        let name = format!("best_{}", metric.name());
        let mut points = vec![(name.as_str(), best.metric)];
        let std_name = format!("best_std_{}", metric.name());
        points.push((std_name.as_str(), best.std));
        let refit: Vec<(String, f64)> = [
            ("rmse", s.job.rmse),
            ("mae", s.job.mae),
            ("r2", s.job.r2),
            ("logloss", s.job.logloss),
            ("auc", s.job.auc),
            ("accuracy", s.job.accuracy),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k.to_string(), v)))
        .collect();
        points.extend(refit.iter().map(|(k, v)| (k.as_str(), *v)));
        points.push(("iterations_total", s.iterations_total as f64));
        run.log_metrics(&points, 0)?;
        run.set_tag("distml.best_run_id", best.run_id.as_deref().unwrap_or(""))?;
    }
    let tmp = tempfile::tempdir()?;
    write_result_files(tmp.path(), &s.trials, s.best.as_ref(), metric)?;
    run.log_artifacts(tmp.path(), "")?;
    match model_dir {
        Some(dir) => {
            run.log_artifacts(Path::new(dir), "best_model")?;
        }
        None if outcome.model.is_some() => {
            let tmp = tempfile::tempdir()?;
            let dir = tmp.path().join("model");
            if let Some(best) = &s.best {
                save_best(&dir, &sets[best.index].apply(&config.train), outcome)?;
                run.log_artifacts(&dir, "best_model")?;
            }
        }
        None => {}
    }
    Ok(())
}
