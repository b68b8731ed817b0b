//! The sweep: expand the space, prepare the folds once, run trials in parallel rung by rung
//! (one MLflow child run per trial), pick the best, refit it on all training rows.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Instant;

use rayon::prelude::*;

use crate::feature::{FeatureLayout, FittedPipeline};
use crate::model::{Family, LinearModel, Solver};
use crate::tracking::{RunHandle, RunSpec, Status, Tracker};
use crate::train::{
    evaluate_blocks, fit_local, JobError, JobSummary, PhaseSeconds, TrainConfig, TrainSummary,
};

use super::folds::{normal_equations_of, Fold};
use super::param::ParamSet;
use super::prepare::{prepare, Prepared};
use super::scheduler::{budget, Scheduler};
use super::space::{expand, Axis, Search};
use super::state::StateFile;
use super::summary::{BestTrial, TuneSummary};
use super::trial::{fit_gram, score_folds, uses_gram, TrialResult, TrialStatus};
use super::{Metric, TuneError};

/// Everything `distml tune` needs besides the tracker.
#[derive(Debug, Clone)]
pub struct TuneConfig {
    /// The base job (data, features, learner defaults, outputs).
    pub train: TrainConfig,
    /// The swept parameters.
    pub axes: Vec<Axis>,
    /// Grid or random search.
    pub search: Search,
    /// Seed of random search and of the folds.
    pub seed: u64,
    /// `--folds K`.
    pub folds: Option<usize>,
    /// `--metric` (default: rmse, or logloss for logistic).
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

/// The sweep's result: its summary and the refitted best model.
#[derive(Debug)]
pub struct TuneOutcome {
    /// The summary JSON.
    pub summary: TuneSummary,
    /// The fitted pipeline.
    pub pipeline: FittedPipeline,
    /// The best parameters refitted on all training rows (None when every trial failed).
    pub model: Option<(LinearModel, TrainSummary)>,
}

/// Validates the flags (before any data is read) and returns the trials' parameter sets.
pub fn plan(config: &TuneConfig) -> Result<(Vec<ParamSet>, Metric), TuneError> {
    config.train.learner_params().map_err(JobError::from)?;
    let sets = expand(&config.axes, config.search, config.seed)?;
    let classification = config.train.model.family() == Family::Binomial;
    let metric = config
        .metric
        .unwrap_or_else(|| Metric::default_for(classification));
    if metric.is_classification() != classification {
        return Err(TuneError::invalid(
            "--metric",
            format!(
                "{} does not score a {} model",
                metric.name(),
                config.train.model.as_str()
            ),
        ));
    }
    if config.parallel == 0 {
        return Err(TuneError::invalid("--parallel", "must be at least 1"));
    }
    Ok((sets, metric))
}

/// Runs the sweep; logs children (and the parent's results) when `tracker`/`parent` are given.
pub fn run_tune(
    config: &TuneConfig,
    tracker: Option<&Tracker>,
    parent: Option<&RunHandle>,
) -> Result<TuneOutcome, TuneError> {
    let started = Instant::now();
    let (sets, metric) = plan(config)?;
    let classification = metric.is_classification();
    let state = match &config.state {
        Some(p) => Some(StateFile::open(p, config.resume)?),
        None => None,
    };
    let data = prepare(
        &config.train,
        config.folds,
        config.seed,
        classification,
        gram_only(&sets, &config.train),
    )?;
    let layout = data.pipeline.layout().clone();
    let nfolds = data.folds.len();
    let mut trials: Vec<TrialResult> = sets
        .iter()
        .enumerate()
        .map(|(index, s)| TrialResult {
            index,
            name: s.name(),
            params: s.to_json(),
            metric: None,
            std: None,
            fold_scores: vec![],
            metrics: Default::default(),
            iterations: 0,
            budget: 0,
            status: TrialStatus::Finished,
            run_id: None,
            error: None,
            seconds: 0.0,
            learning_curve: vec![],
        })
        .collect();
    let children: Mutex<HashMap<usize, RunHandle>> = Mutex::default();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(config.parallel)
        .build()
        .map_err(|e| TuneError::invalid("--parallel", e.to_string()))?;
    let phase = Instant::now();
    warm_grams(&pool, &sets, config, &data.folds, &layout);
    tracing::debug!(
        seconds = phase.elapsed().as_secs_f64(),
        "tune: fold Grams computed"
    );
    let fractions = config.scheduler.rung_fractions(sets.len());
    let mut alive: Vec<usize> = (0..sets.len()).collect();
    let mut resumed = 0usize;
    for (rung, fraction) in fractions.iter().enumerate() {
        let last = rung + 1 == fractions.len();
        let outcomes: Vec<(usize, TrialResult, bool)> = pool.install(|| {
            alive
                .par_iter()
                .map(|&i| {
                    let previous = &trials[i];
                    let trial_config = sets[i].apply(&config.train);
                    let begun = Instant::now();
                    let mut r = previous.clone();
                    let checked = trial_config.learner_params();
                    if rung == 0 {
                        let valid = checked.as_ref().ok();
                        if let Some(child) =
                            start_child(tracker, parent, &sets[i], &trial_config, valid)
                        {
                            r.run_id = Some(child.run_id().to_string());
                            if let Ok(mut map) = children.lock() {
                                map.insert(i, child);
                            }
                        }
                    }
                    let params = match checked {
                        Ok(p) => p,
                        Err(e) => {
                            r.status = TrialStatus::Failed;
                            r.error = Some(e.to_string());
                            return (i, r, false);
                        }
                    };
                    r.budget = budget(params.max_iter(), *fraction);
                    if let Some(done) = state.as_ref().and_then(|s| s.finished(&r.name, r.budget)) {
                        let mut done = done.clone();
                        done.run_id = r.run_id.clone().or(done.run_id);
                        return (i, done, true);
                    }
                    let rung_params = params.clone().into_params().max_iter(r.budget).check();
                    let scored = rung_params.map_err(|e| e.to_string()).and_then(|p| {
                        score_folds(&p, &data.folds, &layout, metric).map_err(|e| e.to_string())
                    });
                    r.seconds += begun.elapsed().as_secs_f64();
                    match scored {
                        Ok(s) => {
                            let (mean, std) = s.mean_std();
                            r.metric = Some(mean);
                            r.std = Some(std);
                            r.fold_scores = s.scores;
                            r.metrics = s.metrics;
                            r.iterations += s.iterations;
                            r.learning_curve = s.learning_curve;
                            r.status = TrialStatus::Finished;
                        }
                        Err(e) => {
                            r.status = TrialStatus::Failed;
                            r.error = Some(e);
                        }
                    }
                    if let Some(s) = &state {
                        if let Err(e) = s.record(&r) {
                            tracing::warn!("{e}");
                        }
                    }
                    (i, r, false)
                })
                .collect()
        });
        for (i, r, was_resumed) in outcomes {
            resumed += was_resumed as usize;
            if let Some(child) = children.lock().ok().as_ref().and_then(|m| m.get(&i)) {
                log_rung(child, &r, metric);
            }
            trials[i] = r;
        }
        let mut ok: Vec<usize> = alive
            .iter()
            .copied()
            .filter(|&i| trials[i].status == TrialStatus::Finished)
            .collect();
        ok.sort_by(|&a, &b| metric.compare(score(&trials[a]), score(&trials[b])));
        let keep = if last {
            ok.len()
        } else {
            config.scheduler.keep(ok.len())
        };
        for &i in &ok[keep..] {
            trials[i].status = TrialStatus::Stopped;
        }
        for &i in &alive {
            let ends = last || trials[i].status != TrialStatus::Finished;
            if ends {
                finish_child(&children, i, &trials[i]);
            }
        }
        alive = ok[..keep].to_vec();
    }
    let train_seconds = phase.elapsed().as_secs_f64();

    let best = trials
        .iter()
        .filter(|t| t.status == TrialStatus::Finished)
        .min_by(|a, b| metric.compare(score(a), score(b)))
        .map(|t| BestTrial {
            index: t.index,
            name: t.name.clone(),
            params: t.params.clone(),
            metric: score(t),
            std: t.std.unwrap_or(f64::NAN),
            run_id: t.run_id.clone(),
        });
    let iterations_total = trials.iter().map(|t| t.iterations).sum();
    let iterations_budget = sets
        .iter()
        .map(|s| s.apply(&config.train).max_iter * nfolds)
        .sum();
    let (job, model) = refit(
        config,
        &data,
        best.as_ref().map(|b| &sets[b.index]),
        train_seconds,
    )?;
    let mut job = job;
    if job.rmse.is_none() && job.logloss.is_none() {
        if let Some(b) = &best {
            fill_from_cv(&mut job, &trials[b.index]);
        }
    }
    job.seconds.total = started.elapsed().as_secs_f64();
    let summary = TuneSummary {
        job,
        metric: metric.name().into(),
        direction: if metric.higher_is_better() {
            "maximize"
        } else {
            "minimize"
        }
        .into(),
        search: match config.search {
            Search::Grid => "grid".into(),
            Search::Random { n } => format!("random:{n}"),
        },
        folds: nfolds,
        scheduler: config.scheduler.label(),
        parallel: config.parallel,
        iterations_total,
        iterations_budget,
        resumed,
        trials,
        best,
    };
    Ok(TuneOutcome {
        summary,
        pipeline: data.pipeline,
        model,
    })
}

fn score(t: &TrialResult) -> f64 {
    t.metric.unwrap_or(f64::NAN)
}

/// Starts a trial's child run (a failure to start is logged, not fatal).
fn start_child(
    tracker: Option<&Tracker>,
    parent: Option<&RunHandle>,
    set: &ParamSet,
    config: &TrainConfig,
    params: Option<&crate::model::GlmValidParams>,
) -> Option<RunHandle> {
    let (tracker, parent) = (tracker?, parent?);
    let spec = RunSpec {
        run_name: Some(set.name()),
        parent_run_id: Some(parent.run_id().to_string()),
        tags: vec![("distml.job".into(), "tune-trial".into())],
        ..Default::default()
    };
    match tracker.start_run(spec) {
        Ok(run) => {
            let mut all = params.map(|p| config.mlflow_params(p)).unwrap_or_default();
            all.extend(
                set.0
                    .iter()
                    .map(|(p, v)| (p.key().to_string(), v.to_string())),
            );
            if let Err(e) = run.log_params(&all) {
                tracing::warn!("logging trial params: {e}");
            }
            Some(run)
        }
        Err(e) => {
            tracing::warn!("starting the run of trial {}: {e}", set.name());
            None
        }
    }
}

/// Logs a rung's result on the child: avg/std at step = iteration budget, and the curve.
fn log_rung(run: &RunHandle, r: &TrialResult, metric: Metric) {
    let m = metric.name();
    let step = r.budget as i64;
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
    let mut result = run.log_metrics(&refs, step);
    for (s, loss) in r.learning_curve.iter().enumerate() {
        if loss.is_finite() {
            result = result.and(run.log_metric("training_loss", *loss, s as i64));
        }
    }
    if let Err(e) = result {
        tracing::warn!("logging trial {}: {e}", r.name);
    }
}

fn finish_child(children: &Mutex<HashMap<usize, RunHandle>>, i: usize, r: &TrialResult) {
    let Some(run) = children.lock().ok().and_then(|mut m| m.remove(&i)) else {
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

/// Refits the best parameters on all training rows, scored on `--valid` when given.
fn refit(
    config: &TuneConfig,
    data: &Prepared,
    best: Option<&ParamSet>,
    train_seconds: f64,
) -> Result<(JobSummary, Option<(LinearModel, TrainSummary)>), TuneError> {
    let rows = |b: &[crate::feature::FeatureBlock]| b.iter().map(|x| x.rows() as u64).sum::<u64>();
    let mut job = JobSummary {
        job: "tune".into(),
        model: config.train.model.as_str().into(),
        rows_train: rows(&data.train),
        rows_valid: data.valid.as_deref().map(rows).unwrap_or(0),
        validation: data.validation.clone(),
        features: data.pipeline.layout().width(),
        rmse: None,
        mae: None,
        r2: None,
        logloss: None,
        auc: None,
        accuracy: None,
        train_metrics: Default::default(),
        iterations: 0,
        solver: String::new(),
        workers: 0,
        rows_dropped: data.rows_dropped.clone(),
        seconds: PhaseSeconds {
            load: data.load_seconds,
            features: data.feature_seconds,
            train: train_seconds,
            ..Default::default()
        },
        run_id: None,
        tracking_uri: None,
        model_dir: None,
        logged_model_id: None,
    };
    let Some(best) = best else {
        return Ok((job, None));
    };
    let phase = Instant::now();
    let params = best
        .apply(&config.train)
        .learner_params()
        .map_err(JobError::from)?;
    // The refit takes the path the trials were scored with.
    let layout = data.pipeline.layout();
    let (model, training) = if uses_gram(&params, layout.width()) {
        let started = Instant::now();
        let computed;
        let normal = match &data.train_normal {
            Some(normal) => normal,
            None => {
                computed = normal_equations_of(&data.train, layout, params.family())
                    .map_err(JobError::from)?;
                &computed
            }
        };
        let (model, iterations, loss_history) =
            fit_gram(&params, normal, layout).map_err(JobError::from)?;
        let rows = data.train.iter().map(|b| b.rows()).sum();
        let summary = TrainSummary {
            solver: Solver::Normal,
            iterations,
            loss_history,
            converged: true,
            rows,
            weight: data
                .train
                .iter()
                .map(|b| b.weight.as_ref().map_or(b.rows() as f64, |w| w.sum()))
                .sum(),
            features: layout.width(),
            seconds: started.elapsed().as_secs_f64(),
        };
        (model, summary)
    } else {
        fit_local(&params, &data.train, layout).map_err(JobError::from)?
    };
    job.iterations = training.iterations;
    job.solver = training.solver.as_str().into();
    job.train_metrics = evaluate_blocks(&model, &data.train);
    if let Some(valid) = &data.valid {
        let m = evaluate_blocks(&model, valid);
        let get = |k: &str| m.get(k).copied();
        (job.rmse, job.mae, job.r2) = (get("rmse"), get("mae"), get("r2"));
        (job.logloss, job.auc, job.accuracy) = (get("logloss"), get("auc"), get("accuracy"));
    }
    job.seconds.evaluate = phase.elapsed().as_secs_f64();
    Ok((job, Some((model, training))))
}

/// The family of least squares every valid trial solves from Gram statistics (see
/// [`uses_gram`]; the feature count is checked once it is known), if they all do.
fn gram_only(sets: &[ParamSet], config: &TrainConfig) -> Option<Family> {
    let params: Vec<_> = sets
        .iter()
        .filter_map(|s| s.apply(config).learner_params().ok())
        .collect();
    let all = !params.is_empty() && params.iter().all(|p| uses_gram(p, 0));
    all.then_some(Family::Gaussian)
}

/// Computes every fold's Gram statistics up front, folds in parallel, when some trial solves
/// from them: left to the trials, both would wait on the same fold while one thread works.
fn warm_grams(
    pool: &rayon::ThreadPool,
    sets: &[ParamSet],
    config: &TuneConfig,
    folds: &[Fold],
    layout: &FeatureLayout,
) {
    let gram_family = sets.iter().find_map(|s| {
        let params = s.apply(&config.train).learner_params().ok()?;
        uses_gram(&params, layout.width()).then(|| params.family())
    });
    if let Some(family) = gram_family {
        pool.install(|| {
            folds.par_iter().for_each(|f| {
                // An error is cached in the fold and reported by the first trial that needs it.
                let _ = f.normal_equations(layout, family);
            })
        });
    }
}

fn fill_from_cv(job: &mut JobSummary, best: &TrialResult) {
    let get = |k: &str| best.metrics.get(k).copied();
    (job.rmse, job.mae, job.r2) = (get("rmse"), get("mae"), get("r2"));
    (job.logloss, job.auc, job.accuracy) = (get("logloss"), get("auc"), get("accuracy"));
}
