//! The training job behind `distml train`: open → features → fit → evaluate → save, each phase
//! timed, everything a run logs reported as it becomes known (see [`super::report`]).

use std::path::Path;
use std::time::Instant;

use crate::cluster::{fit_distributed, ClusterJob, ClusterOptions};
use arrow_array::RecordBatch;

use crate::data::{DataSource, Partition};
use crate::feature::{FeatureError, FittedPipeline, PipelineSpec};
use crate::model::{
    MetricSums, Metrics, Model, ModelDirectory, ModelError, Predictor, TrainSummary,
};
use crate::tracking::RunHandle;

use super::local_trees::{too_small_for_trees, FitMetrics};
use super::report::Report;
use super::split::{parts_of, take_parts, RowSplit};
use super::store::{BlockRecipe, BlockStore, ByteSize, MemoryBudget, Side};
use super::summary::{JobSummary, PhaseSeconds};
use super::{pipeline_spec, Blocks, JobConfig, JobError, LocalSums};

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

/// The fitted feature pipeline, and how the training rows were told from the validation ones.
struct Features {
    pipeline: FittedPipeline,
    /// The hold-out split of `--data` when no `--valid` is given (local fits).
    holdout: Option<RowSplit>,
    validation: String,
}

/// The training and validation blocks, streamed or cached.
struct JobBlocks<'a> {
    train: BlockStore<'a>,
    valid: Option<BlockStore<'a>>,
    /// The budget the cached blocks took their room from, where the fit's own per-row state
    /// is charged too.
    budget: MemoryBudget,
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
        Some(options) => distributed_features(config, &inputs, options)?,
        None => (local_features(&inputs, progress)?, None),
    };
    let layout = features.pipeline.layout();
    // A fit that reads its rows once streams them; the others cache them within the budget.
    let cache = fitted.is_none() && !config.learner.params.reads_once(layout.width());
    let blocks = job_blocks(config, &inputs, &features, cache, progress)?;
    seconds.features = phase.elapsed().as_secs_f64();
    let known = |store: &BlockStore, source: &DataSource| match cache {
        true => store.rows_read(),
        false => source.known_rows().unwrap_or(0),
    };
    report.inputs(
        &inputs.train,
        "training",
        known(&blocks.train, &inputs.train),
    )?;
    if let (Some(source), Some(valid)) = (&inputs.valid, &blocks.valid) {
        report.inputs(source, "validation", known(valid, source))?;
    }

    let phase = Instant::now();
    progress.start("train", 1);
    let (model, training, fit_metrics) = match fitted {
        Some(fit) => {
            // The workers fitted the pipeline and the learner together: count it all as training.
            seconds.features -= fit.seconds;
            seconds.train = fit.seconds;
            (fit.model, fit.summary, None)
        }
        None => fit_stored(config, &blocks, &inputs.train)?,
    };
    progress.finish();
    seconds.train += phase.elapsed().as_secs_f64();
    report.training(&training)?;
    report.model_insights(&model)?;

    let phase = Instant::now();
    // A tree fit's scores are its model's predictions on those rows: no need to score again.
    let (train_sums, valid_sums) = fit_metrics.map(|m| (m.train, m.valid)).unzip();
    let train_metrics = match train_sums {
        Some(sums) => sums.finish(),
        None => metrics_of(&model, &blocks.train)?,
    };
    check_rows(&blocks.train, &inputs.train, "train")?;
    let valid_metrics = match &blocks.valid {
        None => Metrics::new(),
        Some(valid) => {
            let metrics = match valid_sums {
                Some(sums) => sums.finish(),
                None => metrics_of(&model, valid)?,
            };
            let source = inputs.valid.as_ref().unwrap_or(&inputs.train);
            check_rows(valid, source, "validate")?;
            metrics
        }
    };
    seconds.evaluate = phase.elapsed().as_secs_f64();
    let mut summary = JobSummary::train(config, &features.pipeline, &training, workers);
    if let Model::Trees(trees) = &model {
        summary.trees = Some(trees.trees.len());
    }
    summary.rows_train = blocks.train.rows();
    summary.rows_valid = blocks.valid.as_ref().map_or(0, BlockStore::rows);
    summary.validation = features.validation.clone();
    summary.rows_dropped = blocks.train.dropped().0;
    summary.blocks = blocks.train.placement();
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
    drop(blocks);
    Ok(TrainOutcome {
        summary,
        pipeline: features.pipeline,
        model,
        training,
    })
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
    let passes = PassProgress::new(progress, "features", source.partitions().len());
    let Some(valid_source) = &inputs.valid else {
        let split = RowSplit::Holdout {
            fraction: HOLDOUT_FRACTION,
            seed: HOLDOUT_SEED,
        };
        let fitting = |p: &Partition, batch: RecordBatch| {
            let parts = parts_of(split, None, p.index, &batch);
            take_parts(&batch, &parts, |x| x != 1)
        };
        let pipeline = inputs
            .spec
            .fit_where(source, &fitting, &|| passes.advance())
            .map_err(|e| empty_fit(e, source))?;
        progress.finish();
        return Ok(Features {
            pipeline,
            holdout: Some(split),
            validation: format!(
                "random {}% of --data rows (seed {HOLDOUT_SEED})",
                (HOLDOUT_FRACTION * 100.0) as u32
            ),
        });
    };
    let pipeline = inputs
        .spec
        .fit(source, &|| passes.advance())
        .map_err(|e| empty_fit(e, source))?;
    progress.finish();
    Ok(Features {
        pipeline,
        holdout: None,
        validation: format!("file: {}", display_paths(&valid_source.paths())),
    })
}

/// Progress of a pipeline fit, one phase per pass over the partitions (the number of passes
/// shows only as they happen).
struct PassProgress<'a> {
    progress: &'a dyn JobProgress,
    label: &'static str,
    partitions: u64,
    done: std::sync::atomic::AtomicU64,
}

impl<'a> PassProgress<'a> {
    fn new(progress: &'a dyn JobProgress, label: &'static str, partitions: usize) -> Self {
        progress.start(label, partitions as u64);
        PassProgress {
            progress,
            label,
            partitions: (partitions as u64).max(1),
            done: Default::default(),
        }
    }

    /// One more partition of the current pass is done.
    fn advance(&self) {
        let done = self.done.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
        let pass = (done - 1) / self.partitions + 1;
        if pass > 1 && (done - 1).is_multiple_of(self.partitions) {
            self.progress
                .start(&format!("{} {pass}", self.label), self.partitions);
        }
        self.progress.advance(1);
    }
}

/// The training rows' store, and the validation rows' (the `--valid` files or the hold-out).
fn job_blocks<'a>(
    config: &'a JobConfig,
    inputs: &'a Inputs,
    features: &'a Features,
    cache: bool,
    progress: &dyn JobProgress,
) -> Result<JobBlocks<'a>, JobError> {
    let learner = &config.learner.params;
    let recipe = |source| -> Result<BlockRecipe<'a>, JobError> {
        Ok(BlockRecipe::new(source, &features.pipeline)?.validated_for(learner))
    };
    let side = |split, valid| Side {
        split,
        valid_part: 1,
        valid,
    };
    let (train, valid) = match (&inputs.valid, features.holdout) {
        (Some(source), _) => (recipe(&inputs.train)?, Some(recipe(source)?)),
        (None, Some(split)) => (
            recipe(&inputs.train)?.side(side(split, false)),
            Some(recipe(&inputs.train)?.side(side(split, true))),
        ),
        (None, None) => (recipe(&inputs.train)?, None),
    };
    let budget = MemoryBudget::new(memory_budget(config));
    let layout = features.pipeline.layout();
    let held = learner.held_bytes_per_row(layout, features.pipeline.is_weighted());
    // An in-process fit's own per-row state keeps its room: blocks are cached in the rest.
    // Without a row count before reading, the blocks are made again on each pass instead.
    let room = match (cache, held, inputs.train.known_rows()) {
        (false, ..) => None,
        (true, 0, _) => Some(0),
        (true, held, Some(rows)) => Some(reserve_held(&budget, held, rows)?),
        (true, _, None) => None,
    };
    let Some(room) = room else {
        return Ok(JobBlocks {
            train: BlockStore::streamed(train),
            valid: valid.map(BlockStore::streamed),
            budget,
        });
    };
    let spill = config.data.spill_dir.as_deref();
    let cached = |recipe: BlockRecipe<'a>, label: &str| {
        progress.start(label, recipe.len() as u64);
        let store = BlockStore::cached(recipe, &budget, spill, &|| progress.advance(1));
        progress.finish();
        store
    };
    let train = cached(train, "train")?;
    check_rows(&train, &inputs.train, "train")?;
    let valid = valid.map(|v| cached(v, "validate")).transpose()?;
    // The fit charges what it holds exactly once it has binned the rows.
    budget.release(room);
    let placement = train.placement();
    tracing::info!(
        in_memory = placement.in_memory,
        spilled = placement.spilled,
        budget = %budget.limit(),
        used = %budget.used(),
        "training blocks cached"
    );
    Ok(JobBlocks {
        train,
        valid,
        budget,
    })
}

/// Reserves what a fit holding `held` bytes for each of at most `rows` rows needs, before a
/// row is read; refuses the job, naming `--memory-budget`, when the budget cannot hold it.
fn reserve_held(budget: &MemoryBudget, held: u64, rows: u64) -> Result<u64, JobError> {
    let need = held.saturating_mul(rows);
    match budget.try_reserve(need) {
        true => Ok(need),
        false => Err(JobError::Invalid {
            flag: "--memory-budget",
            message: too_small_for_trees(budget, need, rows, held),
        }),
    }
}

/// Fits the learner on the stored blocks, with a tree model's metrics from the fit's scores;
/// a fit that found no row says what dropped them.
fn fit_stored(
    config: &JobConfig,
    blocks: &JobBlocks<'_>,
    source: &DataSource,
) -> Result<(Model, TrainSummary, Option<FitMetrics>), JobError> {
    let valid = blocks
        .valid
        .as_ref()
        .filter(|_| config.learner.params.uses_validation())
        .map_or(Blocks::Held(&[]), Blocks::Stored);
    let params = &config.learner.params;
    let weighted = blocks.train.is_weighted();
    let row_state = params.row_state_bytes(weighted);
    let mut sums = LocalSums::over(Blocks::Stored(&blocks.train))
        .with_validation(valid)
        .within(&blocks.budget, row_state);
    // On a pool thread, the fit's many short parallel passes (a tree's: one per split) start
    // inside the pool instead of waking it from outside each time.
    let fitted = rayon::scope(|_| config.learner.fit(blocks.train.layout(), &mut sums));
    match fitted {
        Ok((model, summary)) => {
            let metrics = match &model {
                Model::Trees(trees) => sums.fit_metrics(trees),
                _ => None,
            };
            Ok((model, summary, metrics))
        }
        Err(ModelError::EmptyData) => {
            check_rows(&blocks.train, source, "train")?;
            Err(ModelError::EmptyData.into())
        }
        Err(e) => Err(e.into()),
    }
}

/// The model's metrics on a store's blocks.
fn metrics_of(model: &Model, store: &BlockStore<'_>) -> Result<Metrics, JobError> {
    let sums = store.reduce(&|b| MetricSums::of(model, b), &MetricSums::merge)?;
    Ok(sums
        .unwrap_or_else(|| MetricSums::empty(model.task()))
        .finish())
}

/// A distributed fit's result, as the job needs it.
struct Fitted {
    model: Model,
    summary: TrainSummary,
    seconds: f64,
}

/// `--memory-budget`, or the default share of this machine's memory.
fn memory_budget(config: &JobConfig) -> ByteSize {
    config
        .data
        .memory_budget
        .unwrap_or_else(ByteSize::default_budget)
}

/// Each worker's share of `--memory-budget`: the budget split among the workers when they
/// share this machine, the whole budget on each of a cluster's machines.
fn worker_memory(config: &JobConfig, options: &ClusterOptions) -> u64 {
    let budget = memory_budget(config).0;
    match options.launch {
        crate::cluster::Launch::Local => budget / options.workers.max(1) as u64,
        _ => budget,
    }
}

/// The workers fit the pipeline and the learner; the coordinator streams the rows to evaluate.
fn distributed_features(
    config: &JobConfig,
    inputs: &Inputs,
    options: &ClusterOptions,
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
    let options = ClusterOptions {
        worker_memory: Some(worker_memory(config, options)),
        ..options.clone()
    };
    let fit = fit_distributed(&job, &options, &|line| eprintln!("{line}"))?;
    let fitted = Fitted {
        model: fit.model,
        summary: fit.summary,
        seconds: started.elapsed().as_secs_f64(),
    };
    let validation = match &inputs.valid {
        Some(source) => format!("file: {}", display_paths(&source.paths())),
        None => "none: a distributed fit trains on every --data row (pass --valid)".into(),
    };
    let features = Features {
        pipeline: fit.pipeline,
        holdout: None,
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

/// Every row filtered out is a user error that says what dropped them.
fn check_rows(
    store: &BlockStore<'_>,
    source: &DataSource,
    purpose: &'static str,
) -> Result<(), JobError> {
    if store.rows() > 0 {
        return Ok(());
    }
    let dropped: Vec<String> = store
        .dropped()
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
        read: store.rows_read(),
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
