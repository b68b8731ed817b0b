//! The training job behind `distml train`: read → features → fit → evaluate → save, each
//! phase timed, everything a run logs sent to the tracker as it becomes known.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use serde::Serialize;

use crate::cluster::{fit_distributed, ClusterOptions};
use crate::data::{type_name, DataSource, ReadOptions};
use crate::feature::{FeatureBlock, FeatureError, FittedPipeline, Transformed};
use crate::model::{LinearModel, ModelDirectory};
use crate::tracking::{digest_of, DatasetSpec, RunHandle};

use super::evaluate::evaluate_blocks;
use super::split::{fit_split, RowSplit};
use super::{fit_local, pipeline_spec, JobError, TrainConfig, TrainSummary};

/// Share of rows held out for validation when no `--valid` file is given.
pub const HOLDOUT_FRACTION: f64 = 0.2;
/// Seed of that hold-out.
pub const HOLDOUT_SEED: u64 = 42;

/// Receives the progress of a job's phases (the CLI draws bars; `()` ignores it).
pub trait JobProgress: Sync {
    /// A phase of `total` units (partitions) starts.
    fn start(&self, _phase: &str, _total: u64) {}
    /// `n` more units are done.
    fn advance(&self, _n: u64) {}
    /// The phase ended.
    fn finish(&self) {}
}

impl JobProgress for () {}

/// Wall-clock seconds per phase.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct PhaseSeconds {
    /// Opening the inputs (footers, headers, partition planning).
    pub load: f64,
    /// Fitting the feature pipeline and transforming every partition.
    pub features: f64,
    /// Fitting the learner.
    pub train: f64,
    /// Scoring training and validation data.
    pub evaluate: f64,
    /// The whole job.
    pub total: f64,
}

/// The job's result: DESIGN.md's summary JSON (printed last on stdout, `--summary FILE`).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct JobSummary {
    /// `train`.
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
    /// Validation RMSE (regression).
    pub rmse: Option<f64>,
    /// Validation MAE (regression).
    pub mae: Option<f64>,
    /// Validation R² (regression).
    pub r2: Option<f64>,
    /// Validation log-loss (classification).
    pub logloss: Option<f64>,
    /// Validation ROC AUC (classification).
    pub auc: Option<f64>,
    /// Validation accuracy (classification).
    pub accuracy: Option<f64>,
    /// Training-set metrics.
    pub train_metrics: BTreeMap<String, f64>,
    /// Solver iterations.
    pub iterations: usize,
    /// The solver that ran.
    pub solver: String,
    /// Worker processes (0: in-process rayon trainer).
    pub workers: usize,
    /// Rows dropped by the pipeline, per reason (training input).
    pub rows_dropped: BTreeMap<String, u64>,
    /// Seconds per phase.
    pub seconds: PhaseSeconds,
    /// The tracking run.
    pub run_id: Option<String>,
    /// Where the run was logged.
    pub tracking_uri: Option<String>,
    /// The saved model directory.
    pub model_dir: Option<String>,
    /// The MLflow 3 logged model (`m-…`) when the server has them.
    pub logged_model_id: Option<String>,
}

/// What a finished job hands back besides its summary.
#[derive(Debug)]
pub struct TrainOutcome {
    /// The summary.
    pub summary: JobSummary,
    /// The fitted feature pipeline.
    pub pipeline: FittedPipeline,
    /// The fitted learner.
    pub model: LinearModel,
    /// The learner's training summary (loss history).
    pub training: TrainSummary,
}

/// Runs a training job; logs to `run` when given. Parameters are validated before any data
/// is read, and params/inputs are logged before fitting so a failed run keeps them.
pub fn run_train(
    config: &TrainConfig,
    progress: &dyn JobProgress,
    run: Option<&RunHandle>,
) -> Result<TrainOutcome, JobError> {
    run_train_on(config, None, progress, run)
}

/// [`run_train`], fitting with worker and parameter-server processes when `cluster` is given
/// (the pipeline and the learner are fitted on every `--data` row; validation needs `--valid`).
pub fn run_train_on(
    config: &TrainConfig,
    cluster: Option<&ClusterOptions>,
    progress: &dyn JobProgress,
    run: Option<&RunHandle>,
) -> Result<TrainOutcome, JobError> {
    let started = Instant::now();
    let params = config.learner_params()?;
    if config.data.is_empty() {
        return Err(JobError::Invalid {
            flag: "--data",
            message: "no training files given".into(),
        });
    }
    if let Some(run) = run {
        run.log_params(&config.mlflow_params(&params))?;
    }
    let options = ReadOptions {
        partitions: config.partitions,
        ..Default::default()
    };
    let train_source = DataSource::open(&config.data, &options)?;
    let valid_source = match config.valid.is_empty() {
        true => None,
        false => Some(DataSource::open(&config.valid, &options)?),
    };
    let mut seconds = PhaseSeconds {
        load: started.elapsed().as_secs_f64(),
        ..Default::default()
    };

    let phase = Instant::now();
    let spec = pipeline_spec(config, &train_source)?;
    let fit_started = Instant::now();
    let distributed = match cluster {
        Some(options) => Some(fit_distributed(config, options, &|line| {
            eprintln!("{line}")
        })?),
        None => None,
    };
    // The workers fit the pipeline and the learner together: count it all as training.
    let distributed_seconds = fit_started.elapsed().as_secs_f64();
    let (pipeline, train, valid_blocks, validation) = match (&valid_source, &distributed) {
        (_, Some(fit)) => {
            // The workers fitted the pipeline; the coordinator transforms for evaluation only.
            let pipeline = fit.pipeline.clone();
            let train = transform(&pipeline, &train_source, "train", progress)?;
            let (valid, text) = match &valid_source {
                Some(source) => (
                    transform(&pipeline, source, "validate", progress)?.blocks,
                    format!("file: {}", display_paths(&config.valid)),
                ),
                None => (
                    Vec::new(),
                    "none: a distributed fit trains on every --data row (pass --valid)".into(),
                ),
            };
            (pipeline, train, valid, text)
        }
        (Some(source), None) => {
            progress.start("features", train_source.partitions().len() as u64);
            let pipeline = spec
                .fit(&train_source, &|| progress.advance(1))
                .map_err(|e| empty_fit(e, &train_source))?;
            progress.finish();
            let train = transform(&pipeline, &train_source, "train", progress)?;
            let valid = transform(&pipeline, source, "validate", progress)?;
            (
                pipeline,
                train,
                valid.blocks,
                format!("file: {}", display_paths(&config.valid)),
            )
        }
        (None, None) => {
            // The hold-out is cut from the raw rows, so the pipeline never sees them.
            let split = RowSplit::Holdout {
                fraction: HOLDOUT_FRACTION,
                seed: HOLDOUT_SEED,
            };
            progress.start("features", 2 * train_source.partitions().len() as u64);
            let data = fit_split(&spec, &train_source, split, 1, None, &|| {
                progress.advance(1)
            })
            .map_err(|e| empty_fit(e, &train_source))?;
            progress.finish();
            check_rows(&data.train, &train_source, "train")?;
            let text = format!(
                "random {}% of --data rows (seed {HOLDOUT_SEED})",
                (HOLDOUT_FRACTION * 100.0) as u32
            );
            (data.pipeline, data.train, data.valid, text)
        }
    };
    let train_blocks = train.blocks;
    seconds.features = phase.elapsed().as_secs_f64();
    if distributed.is_some() {
        seconds.features -= distributed_seconds;
        seconds.train = distributed_seconds;
    }
    if let Some(run) = run {
        log_inputs(run, &train_source, "training", train.rows_read)?;
        if let Some(source) = &valid_source {
            log_inputs(run, source, "validation", source.known_rows().unwrap_or(0))?;
        }
    }

    for (i, block) in valid_blocks.iter().enumerate() {
        crate::model::validate(block, i, pipeline.layout(), params.family())?;
    }

    let phase = Instant::now();
    progress.start("train", 1);
    let (model, training, workers) = match distributed {
        Some(fit) => (fit.model, fit.summary, fit.workers),
        None => {
            let (model, training) = fit_local(&params, &train_blocks, pipeline.layout())?;
            (model, training, 0)
        }
    };
    progress.finish();
    seconds.train += phase.elapsed().as_secs_f64();
    if let Some(run) = run {
        for (step, loss) in training.loss_history.iter().enumerate() {
            run.log_metric("training_loss", *loss, step as i64)?;
        }
    }

    let phase = Instant::now();
    let train_metrics = evaluate_blocks(&model, &train_blocks);
    let valid_metrics = evaluate_blocks(&model, &valid_blocks);
    seconds.evaluate = phase.elapsed().as_secs_f64();
    let rows = |blocks: &[FeatureBlock]| blocks.iter().map(|b| b.rows() as u64).sum::<u64>();
    let metric = |name: &str| {
        valid_metrics
            .get(name)
            .copied()
            .filter(|_| !valid_blocks.is_empty())
    };
    let mut summary = JobSummary {
        job: "train".into(),
        model: config.model.as_str().into(),
        rows_train: rows(&train_blocks),
        rows_valid: rows(&valid_blocks),
        validation,
        features: pipeline.layout().width(),
        rmse: metric("rmse"),
        mae: metric("mae"),
        r2: metric("r2"),
        logloss: metric("logloss"),
        auc: metric("auc"),
        accuracy: metric("accuracy"),
        train_metrics,
        iterations: training.iterations,
        solver: training.solver.as_str().into(),
        workers,
        rows_dropped: train.dropped.0.clone(),
        seconds,
        run_id: run.map(|r| r.run_id().to_string()),
        tracking_uri: None,
        model_dir: None,
        logged_model_id: None,
    };
    if let Some(run) = run {
        log_metrics(run, &summary, &valid_metrics)?;
    }
    if let Some(dir) = &config.model_out {
        save_model(
            dir,
            config,
            &pipeline,
            &model,
            &training,
            &summary,
            &valid_metrics,
        )?;
        summary.model_dir = Some(dir.display().to_string());
    }
    summary.seconds.total = started.elapsed().as_secs_f64();
    Ok(TrainOutcome {
        summary,
        pipeline,
        model,
        training,
    })
}

/// A pipeline fit that saw no usable row names the input.
fn empty_fit(e: FeatureError, source: &DataSource) -> JobError {
    match e {
        FeatureError::EmptyFit { stage, column } => JobError::NoRows {
            file: display_paths(&source.paths()),
            purpose: "fit the feature pipeline on",
            read: source.known_rows().unwrap_or(0),
            dropped: format!("every row, before {stage} could see a value of '{column}'"),
        },
        other => other.into(),
    }
}

fn transform(
    pipeline: &FittedPipeline,
    source: &DataSource,
    purpose: &'static str,
    progress: &dyn JobProgress,
) -> Result<Transformed, JobError> {
    progress.start(purpose, source.partitions().len() as u64);
    let out = pipeline.transform_source(source, &|| progress.advance(1))?;
    progress.finish();
    check_rows(&out, source, purpose)?;
    Ok(out)
}

/// Every row filtered out is a user error that says what dropped them.
fn check_rows(
    out: &Transformed,
    source: &DataSource,
    purpose: &'static str,
) -> Result<(), JobError> {
    if out.rows() > 0 {
        return Ok(());
    }
    let dropped: Vec<String> = out
        .dropped
        .0
        .iter()
        .map(|(k, v)| format!("{v} {k}"))
        .collect();
    Err(JobError::NoRows {
        file: display_paths(&source.paths()),
        purpose: if purpose == "train" {
            "train on"
        } else {
            "validate on"
        },
        read: out.rows_read,
        dropped: if dropped.is_empty() {
            "none".into()
        } else {
            dropped.join(", ")
        },
    })
}

fn display_paths<P: AsRef<Path>>(paths: &[P]) -> String {
    paths
        .iter()
        .map(|p| p.as_ref().display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

fn log_inputs(
    run: &RunHandle,
    source: &DataSource,
    context: &str,
    rows: u64,
) -> Result<(), JobError> {
    let paths = source.paths();
    let first = paths[0];
    let mut parts: Vec<String> = Vec::new();
    for p in &paths {
        let len = std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
        parts.push(format!("{}:{len}", p.display()));
    }
    let dataset = DatasetSpec {
        name: first
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default(),
        digest: digest_of(parts.iter().map(|p| p.as_bytes())),
        source_uri: format!(
            "file://{}",
            std::fs::canonicalize(first)
                .unwrap_or(first.to_path_buf())
                .display()
        ),
        schema: source
            .schema()
            .fields()
            .iter()
            .map(|f| (f.name().clone(), type_name(f.data_type())))
            .collect(),
        num_rows: Some(rows),
        context: context.into(),
    };
    run.log_input(&dataset)?;
    Ok(())
}

fn log_metrics(
    run: &RunHandle,
    summary: &JobSummary,
    valid: &BTreeMap<String, f64>,
) -> Result<(), JobError> {
    let mut points: Vec<(String, f64)> = valid.iter().map(|(k, v)| (k.clone(), *v)).collect();
    points.extend(
        summary
            .train_metrics
            .iter()
            .map(|(k, v)| (format!("training_{k}"), *v)),
    );
    points.push(("rows_train".into(), summary.rows_train as f64));
    points.push(("rows_valid".into(), summary.rows_valid as f64));
    let refs: Vec<(&str, f64)> = points.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    run.log_metrics(&refs, 0)?;
    run.set_tag("distml.validation", &summary.validation)?;
    run.set_tag("distml.solver", &summary.solver)?;
    Ok(())
}

fn save_model(
    dir: &Path,
    config: &TrainConfig,
    pipeline: &FittedPipeline,
    model: &LinearModel,
    training: &TrainSummary,
    summary: &JobSummary,
    valid: &BTreeMap<String, f64>,
) -> Result<(), JobError> {
    let mut metrics = valid.clone();
    metrics.extend(
        summary
            .train_metrics
            .iter()
            .map(|(k, v)| (format!("training_{k}"), *v)),
    );
    let directory = ModelDirectory::new(
        pipeline.clone(),
        model.clone(),
        to_json(config),
        to_json(training),
        metrics,
    );
    directory.save(dir)?;
    Ok(())
}

/// A settings or summary struct as JSON (both are plain data, so this cannot fail).
fn to_json<T: Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or(serde_json::Value::Null)
}
