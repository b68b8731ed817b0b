//! The sweep: expand the space, prepare the folds once, run trials in parallel rung by rung
//! (one MLflow child run per trial), pick the best, refit it on all training rows.

use std::time::Instant;

use rayon::prelude::*;

use crate::feature::{FeatureLayout, FittedPipeline};
use crate::model::{evaluate, Learner, Model, ModelError, Task, TrainSummary};
use crate::tracking::{RunHandle, Tracker};
use crate::train::{fit_local, JobSummary, PhaseSeconds};

use super::folds::{normal_equations_of, Fold};
use super::param::ParamSet;
use super::prepare::{prepare, Prepared};
use super::report::Children;
use super::scheduler::budget;
use super::space::expand;
use super::state::StateFile;
use super::summary::{BestTrial, TuneSummary};
use super::trial::{fit_from_gram, score_folds, uses_gram, TrialResult, TrialStatus};
use super::{Metric, TuneConfig, TuneError};

/// The best learner refitted on all training rows: its parameters, model and training summary.
pub type BestModel = (Learner, Model, TrainSummary);

/// The sweep's result: its summary and the refitted best model.
#[derive(Debug)]
pub struct TuneOutcome {
    /// The summary JSON.
    pub summary: TuneSummary,
    /// The fitted pipeline.
    pub pipeline: FittedPipeline,
    /// The best learner refitted on all training rows (None when every trial failed).
    pub model: Option<BestModel>,
}

/// Validates the flags (before any data is read) and returns the trials' parameter sets.
pub fn plan(config: &TuneConfig) -> Result<(Vec<ParamSet>, Metric), TuneError> {
    let sets = expand(&config.axes, config.search, config.seed)?;
    let classification = config.job.learner.task() == Task::Classification;
    let metric = config
        .metric
        .unwrap_or_else(|| Metric::default_for(classification));
    if metric.is_classification() != classification {
        return Err(TuneError::invalid(
            "--metric",
            format!(
                "{} does not score a {} model",
                metric.name(),
                config.job.learner.model
            ),
        ));
    }
    if config.parallel == 0 {
        return Err(TuneError::invalid("--parallel", "must be at least 1"));
    }
    Ok((sets, metric))
}

/// What every trial of the sweep shares.
struct Sweep<'a> {
    config: &'a TuneConfig,
    sets: &'a [ParamSet],
    metric: Metric,
    data: &'a Prepared,
    layout: &'a FeatureLayout,
    state: Option<StateFile>,
    children: Children<'a>,
}

/// Runs the sweep; logs children (under `parent`) when `tracker` and `parent` are given.
pub fn run_tune(
    config: &TuneConfig,
    tracker: Option<&Tracker>,
    parent: Option<&RunHandle>,
) -> Result<TuneOutcome, TuneError> {
    let started = Instant::now();
    let (sets, metric) = plan(config)?;
    let state = match &config.state {
        Some(p) => Some(StateFile::open(p, config.resume)?),
        None => None,
    };
    let learners: Vec<Option<Learner>> = sets
        .iter()
        .map(|s| s.apply(&config.job.learner).ok())
        .collect();
    let classification = metric.is_classification();
    // Every valid trial solving least squares from Gram statistics lets folds share features
    // (the feature count is checked once it is known).
    let valid: Vec<&Learner> = learners.iter().flatten().collect();
    let gram_only = !valid.is_empty() && valid.iter().all(|l| uses_gram(l, 0));
    let shared_gram = gram_only.then_some(crate::model::Family::Gaussian);
    let data = prepare(
        &config.job,
        config.folds,
        config.seed,
        classification,
        shared_gram,
    )?;
    let layout = data.pipeline.layout().clone();
    let sweep = Sweep {
        config,
        sets: &sets,
        metric,
        data: &data,
        layout: &layout,
        state,
        children: Children::new(tracker, parent),
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(config.parallel)
        .build()
        .map_err(|e| TuneError::invalid("--parallel", e.to_string()))?;
    let phase = Instant::now();
    warm_grams(&pool, &learners, &data.folds, &layout);
    tracing::debug!(
        seconds = phase.elapsed().as_secs_f64(),
        "tune: fold Grams computed"
    );
    let (trials, resumed) = sweep.run_rungs(&pool)?;
    let train_seconds = phase.elapsed().as_secs_f64();

    let best = best_of(&trials, metric);
    let best_learner = best.as_ref().and_then(|b| learners[b.index].clone());
    let (mut job, model) = refit(config, &data, best_learner, train_seconds)?;
    if job.metrics.is_empty() {
        if let Some(b) = &best {
            job.set_metrics(&trials[b.index].metrics, job.train_metrics.clone());
        }
    }
    job.seconds.total = started.elapsed().as_secs_f64();
    let iterations_budget = learners
        .iter()
        .flatten()
        .map(|l| l.budget() * data.folds.len())
        .sum();
    let summary = TuneSummary {
        job,
        metric: metric.name().into(),
        direction: match metric.higher_is_better() {
            true => "maximize",
            false => "minimize",
        }
        .into(),
        search: config.search.label(),
        folds: data.folds.len(),
        scheduler: config.scheduler.label(),
        parallel: config.parallel,
        iterations_total: trials.iter().map(|t| t.iterations).sum(),
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

impl Sweep<'_> {
    /// Runs every rung: all trials on the first, the best 1/η of each on the next, until the
    /// full budget. Returns the trials' records and how many came from the state file.
    fn run_rungs(&self, pool: &rayon::ThreadPool) -> Result<(Vec<TrialResult>, usize), TuneError> {
        let mut trials: Vec<TrialResult> = self
            .sets
            .iter()
            .enumerate()
            .map(|(index, s)| TrialResult::new(index, s))
            .collect();
        let fractions = self.config.scheduler.rung_fractions(self.sets.len());
        let mut alive: Vec<usize> = (0..self.sets.len()).collect();
        let mut resumed = 0usize;
        for (rung, fraction) in fractions.iter().enumerate() {
            let last = rung + 1 == fractions.len();
            let outcomes: Vec<(usize, TrialResult, bool)> = pool.install(|| {
                alive
                    .par_iter()
                    .map(|&i| self.run_trial(i, rung, *fraction, &trials[i]))
                    .collect()
            });
            for (i, r, was_resumed) in outcomes {
                resumed += was_resumed as usize;
                self.children.log_rung(i, &r, self.metric);
                trials[i] = r;
            }
            alive = self.promote(&mut trials, &alive, last);
        }
        Ok((trials, resumed))
    }

    /// Ranks a rung's finished trials: the best go on (all of them on the last rung), the rest
    /// are stopped; trials that end here have their child runs finished.
    fn promote(&self, trials: &mut [TrialResult], alive: &[usize], last: bool) -> Vec<usize> {
        let mut ok: Vec<usize> = alive
            .iter()
            .copied()
            .filter(|&i| trials[i].status == TrialStatus::Finished)
            .collect();
        ok.sort_by(|&a, &b| self.metric.compare(score(&trials[a]), score(&trials[b])));
        let keep = match last {
            true => ok.len(),
            false => self.config.scheduler.keep(ok.len()),
        };
        for &i in &ok[keep..] {
            trials[i].status = TrialStatus::Stopped;
        }
        for &i in alive {
            if last || trials[i].status != TrialStatus::Finished {
                self.children.finish(i, &trials[i]);
            }
        }
        ok[..keep].to_vec()
    }

    /// One trial on one rung: its learner at the rung's budget, scored on every fold (or its
    /// result from the state file). Returns the record and whether it was resumed.
    fn run_trial(
        &self,
        i: usize,
        rung: usize,
        fraction: f64,
        previous: &TrialResult,
    ) -> (usize, TrialResult, bool) {
        let begun = Instant::now();
        let mut r = previous.clone();
        let learner = self.sets[i].apply(&self.config.job.learner);
        if rung == 0 {
            r.run_id = self
                .children
                .start(i, &self.sets[i], self.config, learner.as_ref().ok());
        }
        let learner = match learner {
            Ok(l) => l,
            Err(e) => return (i, r.failed(e.to_string()), false),
        };
        r.budget = budget(learner.budget(), fraction);
        let done = self
            .state
            .as_ref()
            .and_then(|s| s.finished(&r.name, r.budget));
        if let Some(done) = done {
            let mut done = done.clone();
            done.run_id = r.run_id.clone().or(done.run_id);
            return (i, done, true);
        }
        let at_budget = learner.with_budget(r.budget);
        let scored = score_folds(&at_budget, &self.data.folds, self.layout, self.metric);
        r.seconds += begun.elapsed().as_secs_f64();
        let r = match scored {
            Ok(s) => r.scored(s),
            Err(e) => r.failed(e.to_string()),
        };
        if let Some(state) = &self.state {
            if let Err(e) = state.record(&r) {
                tracing::warn!("{e}");
            }
        }
        (i, r, false)
    }
}

/// The finished trial with the best metric.
fn best_of(trials: &[TrialResult], metric: Metric) -> Option<BestTrial> {
    trials
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
        })
}

fn score(t: &TrialResult) -> f64 {
    t.metric.unwrap_or(f64::NAN)
}

/// Refits the best learner on all training rows (from the shared normal equations when it
/// solves from them), scored on `--valid` when given.
fn refit(
    config: &TuneConfig,
    data: &Prepared,
    best: Option<Learner>,
    train_seconds: f64,
) -> Result<(JobSummary, Option<BestModel>), TuneError> {
    let rows = |b: &[crate::feature::FeatureBlock]| b.iter().map(|x| x.rows() as u64).sum::<u64>();
    let mut job = JobSummary {
        job: "tune".into(),
        model: config.job.learner.model.as_str().into(),
        rows_train: rows(&data.train),
        rows_valid: data.valid.as_deref().map(rows).unwrap_or(0),
        validation: data.validation.clone(),
        features: data.pipeline.layout().width(),
        rows_dropped: data.rows_dropped.clone(),
        seconds: PhaseSeconds {
            open: data.open_seconds,
            features: data.feature_seconds,
            train: train_seconds,
            ..Default::default()
        },
        ..Default::default()
    };
    let Some(learner) = best else {
        return Ok((job, None));
    };
    let phase = Instant::now();
    let layout = data.pipeline.layout();
    let (model, training) = match (&data.train_normal, uses_gram(&learner, layout.width())) {
        (Some(normal), true) => fit_from_gram(&learner, &data.train, normal, layout),
        (None, true) => normal_equations_of(&data.train, layout, crate::model::Family::Gaussian)
            .and_then(|normal| fit_from_gram(&learner, &data.train, &normal, layout)),
        (_, false) => fit_local(&learner, &data.train, layout),
    }
    .map_err(|e: ModelError| TuneError::Job(e.into()))?;
    job.iterations = training.iterations;
    job.solver = training.solver.clone();
    let train_metrics = evaluate(&model, &data.train);
    let valid_metrics = data
        .valid
        .as_ref()
        .map(|v| evaluate(&model, v))
        .unwrap_or_default();
    job.set_metrics(&valid_metrics, train_metrics);
    job.seconds.evaluate = phase.elapsed().as_secs_f64();
    Ok((job, Some((learner, model, training))))
}

/// Computes every fold's Gram statistics up front, folds in parallel, when some trial solves
/// from them: left to the trials, both would wait on the same fold while one thread works.
fn warm_grams(
    pool: &rayon::ThreadPool,
    learners: &[Option<Learner>],
    folds: &[Fold],
    layout: &FeatureLayout,
) {
    if learners
        .iter()
        .flatten()
        .any(|l| uses_gram(l, layout.width()))
    {
        pool.install(|| {
            folds.par_iter().for_each(|f| {
                // An error is cached in the fold and reported by the first trial that needs it.
                let _ = f.normal_equations(layout, crate::model::Family::Gaussian);
            })
        });
    }
}
