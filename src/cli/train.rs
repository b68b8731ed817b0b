//! `distml train`: flags (over an optional job TOML) → the training job → summary JSON.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, ValueEnum};
use distml::data::taxi::{generate, TaxiSpec};
use distml::feature::FittedPipeline;
use distml::model::LinearModel;
use distml::model::{ModelKind, Solver};
use distml::tracking::wire::KeyValue;
use distml::tracking::{MlflowClient, NewLoggedModel, RunSpec, Status, Tracker, TrackingOverrides};
use distml::train::{run_train_on, JobSummary, Preset, TrainConfig};

use super::progress::JobBars;

/// `distml train`: the job flags plus the distributed ones.
#[derive(Debug, Clone, Args)]
pub(crate) struct TrainCommand {
    #[command(flatten)]
    job: TrainArgs,
    #[command(flatten)]
    cluster: super::cluster_args::ClusterArgs,
}

/// Flags shared by `train` and `tune`: data, features, learner, tracking, outputs.
#[derive(Debug, Clone, Args)]
pub(crate) struct TrainArgs {
    /// Job file (TOML, keys are these flags' names, e.g. `elastic-net = 0.5`); flags win.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Training files, directories or globs (Parquet/CSV). Default: a generated taxi month.
    #[arg(long, num_args = 1..)]
    data: Vec<PathBuf>,
    /// Validation files (e.g. the next month). Default: a random 20% of --data rows.
    #[arg(long, num_args = 1..)]
    valid: Vec<PathBuf>,
    /// Label column of a generic table (default: the taxi duration job).
    #[arg(long)]
    target: Option<String>,
    /// Categorical feature columns (comma-separated), one-hot encoded.
    #[arg(long, value_delimiter = ',')]
    categorical: Vec<String>,
    /// Numeric feature columns (comma-separated), nulls imputed by the mean.
    #[arg(long, value_delimiter = ',')]
    numeric: Vec<String>,
    /// Taxi feature preset.
    #[arg(long, value_enum)]
    preset: Option<PresetArg>,
    /// Learner: linear, ridge, lasso, elastic-net, logistic or poisson.
    #[arg(long, value_parser = parse_model)]
    model: Option<ModelKind>,
    /// Regularisation strength (MLlib regParam).
    #[arg(long, allow_negative_numbers = true)]
    reg: Option<f64>,
    /// L1 share of the penalty, 0..=1 (MLlib elasticNetParam).
    #[arg(long = "elastic-net", allow_negative_numbers = true)]
    elastic_net: Option<f64>,
    /// Solver: auto, normal, lbfgs or sgd.
    #[arg(long, value_parser = parse_solver)]
    solver: Option<Solver>,
    /// Iteration limit of iterative solvers.
    #[arg(long)]
    max_iter: Option<usize>,
    /// Convergence tolerance of iterative solvers.
    #[arg(long, allow_negative_numbers = true)]
    tol: Option<f64>,
    /// Number of partitions.
    #[arg(long)]
    partitions: Option<usize>,
    /// MLflow tracking server (default: MLFLOW_TRACKING_URI, else the local store ./distml-runs).
    #[arg(long)]
    tracking_uri: Option<String>,
    /// MLflow experiment (default: MLFLOW_EXPERIMENT_NAME, else Default).
    #[arg(long)]
    experiment: Option<String>,
    /// MLflow run name.
    #[arg(long)]
    run_name: Option<String>,
    /// Save the model directory here.
    #[arg(long)]
    model_out: Option<PathBuf>,
    /// Also write the summary JSON to this file.
    #[arg(long)]
    summary: Option<PathBuf>,
    /// Rows per generated month when no --data is given.
    #[arg(long, default_value_t = 1_000_000)]
    rows: usize,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum PresetArg {
    Taxi,
    TaxiRich,
}

fn parse_model(text: &str) -> Result<ModelKind, String> {
    text.parse()
        .map_err(|e: distml::model::ModelError| e.to_string())
}

fn parse_solver(text: &str) -> Result<Solver, String> {
    text.parse()
        .map_err(|e: distml::model::ModelError| e.to_string())
}

impl TrainArgs {
    /// The job settings: the TOML file (if any) with every given flag applied on top.
    pub(crate) fn to_config(&self) -> anyhow::Result<TrainConfig> {
        let mut c = match &self.config {
            Some(path) => TrainConfig::from_toml_file(path)?,
            None => TrainConfig::default(),
        };
        set_vec(&mut c.data, &self.data);
        set_vec(&mut c.valid, &self.valid);
        set_vec(&mut c.categorical, &self.categorical);
        set_vec(&mut c.numeric, &self.numeric);
        c.target = self.target.clone().or(c.target);
        if let Some(p) = self.preset {
            c.preset = match p {
                PresetArg::Taxi => Preset::Taxi,
                PresetArg::TaxiRich => Preset::TaxiRich,
            };
        }
        c.model = self.model.unwrap_or(c.model);
        c.reg = self.reg.or(c.reg);
        c.elastic_net = self.elastic_net.or(c.elastic_net);
        c.solver = self.solver.unwrap_or(c.solver);
        c.max_iter = self.max_iter.unwrap_or(c.max_iter);
        c.tol = self.tol.unwrap_or(c.tol);
        c.partitions = self.partitions.or(c.partitions);
        c.tracking_uri = self.tracking_uri.clone().or(c.tracking_uri);
        c.experiment = self.experiment.clone().or(c.experiment);
        c.run_name = self.run_name.clone().or(c.run_name);
        c.model_out = self.model_out.clone().or(c.model_out);
        c.summary = self.summary.clone().or(c.summary);
        Ok(c)
    }

    /// Rows per generated month for a job without `--data`.
    pub(crate) fn generated_rows(&self) -> usize {
        self.rows
    }
}

/// Replaces `dst` with `src` when the flag was given.
fn set_vec<T: Clone>(dst: &mut Vec<T>, src: &[T]) {
    if !src.is_empty() {
        *dst = src.to_vec();
    }
}

/// Fills in a generated taxi month (and the next one for validation) when no data is given;
/// the returned directory must outlive the job.
pub(crate) fn default_data(
    config: &mut TrainConfig,
    rows: usize,
) -> anyhow::Result<Option<tempfile::TempDir>> {
    if !config.data.is_empty() {
        return Ok(None);
    }
    let dir = tempfile::tempdir().context("creating a directory for the generated data")?;
    let months = [("2023-01", 1u64), ("2023-02", 2u64)];
    for (i, (month, seed)) in months.iter().enumerate() {
        if i == 1 && !config.valid.is_empty() {
            break;
        }
        let path = dir.path().join(format!("yellow_tripdata_{month}.parquet"));
        let spec = TaxiSpec {
            rows,
            seed: *seed,
            ..Default::default()
        }
        .with_month(month)?;
        generate(&spec, &path, &|_| {})?;
        if i == 0 {
            config.data = vec![path]
        } else {
            config.valid = vec![path]
        }
    }
    eprintln!("no --data given: generated {rows} yellow-taxi trips for 2023-01 (train) and 2023-02 (validation) in {}", dir.path().display());
    Ok(Some(dir))
}

/// Worker processes of `distml train` without `--data` (the generated demo month).
const DEMO_WORKERS: usize = 2;

pub(crate) fn run(command: TrainCommand) -> anyhow::Result<()> {
    let args = command.job;
    let mut config = args.to_config()?;
    // The no-argument demo job shows the whole system: two local worker processes and a
    // parameter-server shard, unless --workers says otherwise.
    let demo_workers = config.data.is_empty().then_some(DEMO_WORKERS);
    let cluster = command.cluster.options_or(demo_workers)?;
    config.learner_params()?; // bad params fail before data is generated or a run is created
    let _generated = default_data(&mut config, args.generated_rows())?;
    let tracker = Tracker::from_env(TrackingOverrides {
        tracking_uri: config.tracking_uri.clone(),
        experiment: config.experiment.clone(),
        run_name: config.run_name.clone(),
    })?;
    let run = tracker.start_run(RunSpec {
        run_name: config.run_name.clone(),
        tags: vec![("distml.job".into(), "train".into())],
        ..Default::default()
    })?;
    let bars = JobBars::default();
    let outcome = match run_train_on(&config, cluster.as_ref(), &bars, Some(&run)) {
        Ok(outcome) => outcome,
        Err(error) => {
            let report = run.finish(Status::Failed {
                error: format!("{error}"),
            });
            if let Ok(r) = report {
                eprintln!("run {} marked FAILED", r.run_id);
            }
            return Err(error.into());
        }
    };
    let mut summary = outcome.summary;
    let (model_dir, _tmp) = model_files(&summary, &outcome.pipeline, &outcome.model)?;
    run.log_artifacts(&model_dir, "model")?;
    summary.tracking_uri = Some(tracker.uri());
    let experiment_id = run.experiment_id().map(str::to_string);
    let report = run.finish(Status::Finished)?;
    if let Some(error) = report.error {
        eprintln!("warning: run {} is kept in the local store ({error}); `distml runs sync` sends it later", report.run_id);
    } else if let (Some(client), Some(experiment_id), true) =
        (tracker.client(), experiment_id, report.synced)
    {
        summary.logged_model_id =
            register_model(client, &experiment_id, &report.run_id, &config, &model_dir);
    }
    print_summary(&summary, config.summary.as_deref())
}

/// The model directory to upload: --model-out, or a temporary copy when it is absent.
fn model_files(
    summary: &JobSummary,
    pipeline: &FittedPipeline,
    model: &LinearModel,
) -> anyhow::Result<(PathBuf, Option<tempfile::TempDir>)> {
    if let Some(dir) = &summary.model_dir {
        return Ok((PathBuf::from(dir), None));
    }
    let tmp = tempfile::tempdir()?;
    pipeline.save(tmp.path().join("pipeline"))?;
    std::fs::write(
        tmp.path().join("model.json"),
        serde_json::to_string_pretty(model)?,
    )?;
    Ok((tmp.path().to_path_buf(), Some(tmp)))
}

/// Registers the model as an MLflow 3 logged model; a failure only warns (the run has it).
fn register_model(
    client: &MlflowClient,
    experiment_id: &str,
    run_id: &str,
    config: &TrainConfig,
    dir: &Path,
) -> Option<String> {
    let params: Vec<KeyValue> = config
        .learner_params()
        .map(|p| config.mlflow_params(&p))
        .unwrap_or_default()
        .into_iter()
        .map(|(key, value)| KeyValue { key, value })
        .collect();
    let model_type = format!("distml.{}", config.model.as_str());
    let tags = [KeyValue {
        key: "framework".into(),
        value: "distml".into(),
    }];
    let new = NewLoggedModel {
        experiment_id,
        name: "model",
        model_type: &model_type,
        source_run_id: run_id,
        params: &params,
        tags: &tags,
    };
    match client.log_model(&new, dir) {
        Ok(info) => info.map(|i| i.model_id),
        Err(e) => {
            eprintln!("warning: the model stays a run artifact; registering it as a logged model failed: {e}");
            None
        }
    }
}

/// Prints the summary as the last stdout line and writes it to `path` when given.
pub(crate) fn print_summary<T: serde::Serialize>(
    summary: &T,
    path: Option<&Path>,
) -> anyhow::Result<()> {
    let line = serde_json::to_string(summary)?;
    if let Some(path) = path {
        std::fs::write(path, format!("{line}\n"))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    println!("{line}");
    Ok(())
}
