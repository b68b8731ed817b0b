//! The training job behind `distml train`: open → features → fit → evaluate → save, each phase
//! timed, everything a run logs reported as it becomes known (see [`super::report`]).

use std::path::Path;
use std::time::Instant;

use crate::cluster::{fit_distributed, ClusterJob, ClusterOptions};
use crate::data::DataSource;
use crate::feature::{FeatureBlock, FeatureError, FittedPipeline, PipelineSpec, Transformed};
use crate::model::{evaluate, validate, Metrics, Model, ModelDirectory, TrainSummary};
use crate::tracking::RunHandle;

use super::report::Report;
use super::split::{fit_split, RowSplit};
use super::summary::{JobSummary, PhaseSeconds};
use super::{fit_local_with, pipeline_spec, JobConfig, JobError};

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

/// What a finished job hands back besides its summary.
#[derive(Debug)]
pub struct TrainOutcome {
    /// The summary.
    pub summary: JobSummary,
    /// The fitted feature pipeline.
    pub pipeline: FittedPipeline,
    /// The fitted model.
    pub model: Model,
    /// The learner's training summary (loss history).
    pub training: TrainSummary,
}

/// The inputs, opened (footers read, partitions planned).
struct Inputs {
    train: DataSource,
    valid: Option<DataSource>,
    spec: PipelineSpec,
}

/// Feature blocks ready for the learner and for evaluation.
struct Features {
    pipeline: FittedPipeline,
    train: Transformed,
    valid: Vec<FeatureBlock>,
    validation: String,
}

/// Runs a training job in this process; logs to `run` when given.
pub fn run_train(
    config: &JobConfig,
    progress: &dyn JobProgress,
    run: Option<&RunHandle>,
) -> Result<TrainOutcome, JobError> {
    run_train_on(config, None, progress, run)
}

/// [`run_train`], fitting with worker and parameter-server processes when `cluster` is given
/// (the pipeline and the learner are fitted on every `--data` row; validation needs `--valid`).
/// Parameters were checked with the config; params and inputs are logged before fitting, so a
/// failed run keeps them.
pub fn run_train_on(
    config: &JobConfig,
    cluster: Option<&ClusterOptions>,
    progress: &dyn JobProgress,
    run: Option<&RunHandle>,
) -> Result<TrainOutcome, JobError> {
    let started = Instant::now();
    let report = Report::new(run);
    let workers = cluster.map_or(0, |c| c.workers);
    report.params(&config.mlflow_params(workers))?;
    let inputs = open(config)?;
    let mut seconds = PhaseSeconds {
        open: started.elapsed().as_secs_f64(),
        ..Default::default()
    };

    let phase = Instant::now();
    let (features, fitted) = match cluster {
        Some(options) => distributed_features(config, &inputs, options, progress)?,
        None => (local_features(&inputs, progress)?, None),
    };
    seconds.features = phase.elapsed().as_secs_f64();
    report.inputs(&inputs.train, "training", features.train.rows_read)?;
    if let Some(valid) = &inputs.valid {
        report.inputs(valid, "validation", valid.known_rows().unwrap_or(0))?;
    }
    let layout = features.pipeline.layout();
    for (i, block) in features.valid.iter().enumerate() {
        validate(block, i, layout, &config.learner.params)?;
    }

    let phase = Instant::now();
    progress.start("train", 1);
    let (model, training) = match fitted {
        Some(fit) => {
            // The workers fitted the pipeline and the learner together: count it all as training.
            seconds.features -= fit.seconds;
            seconds.train = fit.seconds;
            (fit.model, fit.summary)
        }
        None => fit_local_with(
            &config.learner,
            &features.train.blocks,
            &features.valid,
            layout,
        )?,
    };
    progress.finish();
    seconds.train += phase.elapsed().as_secs_f64();
    report.training(&training)?;
    report.model_insights(&model)?;

    let phase = Instant::now();
    let train_metrics = evaluate(&model, &features.train.blocks);
    let valid_metrics = match features.valid.is_empty() {
        true => Metrics::new(),
        false => evaluate(&model, &features.valid),
    };
    seconds.evaluate = phase.elapsed().as_secs_f64();
    let mut summary = JobSummary::train(config, &features.pipeline, &training, workers);
    if let Model::Trees(trees) = &model {
        summary.trees = Some(trees.trees.len());
    }
    summary.rows_train = rows(&features.train.blocks);
    summary.rows_valid = rows(&features.valid);
    summary.validation = features.validation;
    summary.rows_dropped = features.train.dropped.0.clone();
    summary.set_metrics(&valid_metrics, train_metrics);
    summary.run_id = run.map(|r| r.run_id().to_string());
    report.results(&summary, &valid_metrics)?;
    if let Some(dir) = &config.outputs.model_out {
        save_model(dir, config, &features.pipeline, &model, &training, &summary)?;
        summary.model_dir = Some(dir.display().to_string());
    }
    summary.seconds = PhaseSeconds {
        total: started.elapsed().as_secs_f64(),
        ..seconds
    };
    Ok(TrainOutcome {
        summary,
        pipeline: features.pipeline,
        model,
        training,
    })
}

fn rows(blocks: &[FeatureBlock]) -> u64 {
    blocks.iter().map(|b| b.rows() as u64).sum()
}

/// Opens the training and validation files and builds the pipeline they need; an unknown
/// column fails here, before any row is read.
fn open(config: &JobConfig) -> Result<Inputs, JobError> {
    let (train, valid) = config.data.open()?;
    let native = config.learner.params.native_categories();
    let spec = pipeline_spec(&config.features, &train, native)?;
    Ok(Inputs { train, valid, spec })
}

/// Fits the pipeline here: on `--data` when `--valid` is given, else on the rows outside the
/// hold-out (cut from the raw rows, so the pipeline never sees them).
fn local_features(inputs: &Inputs, progress: &dyn JobProgress) -> Result<Features, JobError> {
    let source = &inputs.train;
    let Some(valid_source) = &inputs.valid else {
        let split = RowSplit::Holdout {
            fraction: HOLDOUT_FRACTION,
            seed: HOLDOUT_SEED,
        };
        progress.start("features", 2 * source.partitions().len() as u64);
        let data = fit_split(&inputs.spec, source, split, 1, None, &|| {
            progress.advance(1)
        })
        .map_err(|e| empty_fit(e, source))?;
        progress.finish();
        check_rows(&data.train, source, "train")?;
        return Ok(Features {
            pipeline: data.pipeline,
            train: data.train,
            valid: data.valid,
            validation: format!(
                "random {}% of --data rows (seed {HOLDOUT_SEED})",
                (HOLDOUT_FRACTION * 100.0) as u32
            ),
        });
    };
    progress.start("features", source.partitions().len() as u64);
    let pipeline = inputs
        .spec
        .fit(source, &|| progress.advance(1))
        .map_err(|e| empty_fit(e, source))?;
    progress.finish();
    let train = transform(&pipeline, source, "train", progress)?;
    let valid = transform(&pipeline, valid_source, "validate", progress)?.blocks;
    Ok(Features {
        pipeline,
        train,
        valid,
        validation: format!("file: {}", display_paths(&valid_source.paths())),
    })
}

/// A distributed fit's result, as the job needs it.
struct Fitted {
    model: Model,
    summary: TrainSummary,
    seconds: f64,
}

/// The workers fit the pipeline and the learner; the coordinator transforms for evaluation.
fn distributed_features(
    config: &JobConfig,
    inputs: &Inputs,
    options: &ClusterOptions,
    progress: &dyn JobProgress,
) -> Result<(Features, Option<Fitted>), JobError> {
    let started = Instant::now();
    let partitions = inputs.train.partitions().len();
    if options.launch == crate::cluster::Launch::Local && options.workers > partitions {
        return Err(JobError::Invalid {
            flag: "--workers",
            message: format!(
                "{} workers for {partitions} partitions of the training data: a worker without \
                 a partition has nothing to do; lower --workers or raise --partitions",
                options.workers
            ),
        });
    }
    let job = ClusterJob {
        data: config.data.data.clone(),
        partitions: config.data.partitions,
        pipeline: inputs.spec.clone(),
        learner: config.learner.clone(),
        valid: config.data.valid.clone(),
    };
    let fit = fit_distributed(&job, options, &|line| eprintln!("{line}"))?;
    let fitted = Fitted {
        model: fit.model,
        summary: fit.summary,
        seconds: started.elapsed().as_secs_f64(),
    };
    let train = transform(&fit.pipeline, &inputs.train, "train", progress)?;
    let (valid, validation) = match &inputs.valid {
        Some(source) => (
            transform(&fit.pipeline, source, "validate", progress)?.blocks,
            format!("file: {}", display_paths(&source.paths())),
        ),
        None => (
            Vec::new(),
            "none: a distributed fit trains on every --data row (pass --valid)".into(),
        ),
    };
    let features = Features {
        pipeline: fit.pipeline,
        train,
        valid,
        validation,
    };
    Ok((features, Some(fitted)))
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

/// Saves the model directory: the pipeline, the model, the job's settings, the training summary
/// and the final metrics (validation unprefixed, training prefixed `training_`).
pub(crate) fn save_model(
    dir: &Path,
    config: &JobConfig,
    pipeline: &FittedPipeline,
    model: &Model,
    training: &TrainSummary,
    summary: &JobSummary,
) -> Result<(), JobError> {
    let directory = ModelDirectory::new(
        pipeline.clone(),
        model.clone(),
        to_json(config),
        to_json(training),
        summary.final_metrics(),
    );
    directory.save(dir)?;
    Ok(())
}

/// A settings or summary struct as JSON (both are plain data, so this cannot fail).
fn to_json<T: serde::Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or(serde_json::Value::Null)
}

/// Runs a training job as its own MLflow run on `tracker`: the run is started, the job logs to
/// it, and it ends FINISHED with the model uploaded (and registered as a logged model when the
/// server has them) — or FAILED with the error, keeping everything logged before.
pub fn run_tracked(
    config: &JobConfig,
    cluster: Option<&ClusterOptions>,
    progress: &dyn JobProgress,
    tracker: &crate::tracking::Tracker,
) -> Result<JobSummary, JobError> {
    super::report::check_registration(config, tracker)?;
    let run = tracker.start_run(crate::tracking::RunSpec {
        run_name: config.tracking.run_name.clone(),
        tags: vec![("distml.job".into(), "train".into())],
        ..Default::default()
    })?;
    let outcome = match run_train_on(config, cluster, progress, Some(&run)) {
        Ok(outcome) => outcome,
        Err(error) => {
            super::report::fail_run(run, &error);
            return Err(error);
        }
    };
    let (dir, _tmp) =
        super::report::model_files(outcome.summary.model_dir.as_deref(), config, &outcome)?;
    let mut summary = outcome.summary;
    super::report::finish_run(run, tracker, config, &dir, "model", &mut summary)?;
    Ok(summary)
}
