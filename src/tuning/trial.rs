//! One trial: a parameter set fitted and scored on every fold (least squares solved from the
//! fold's cached Gram statistics), and its recorded result.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::feature::FeatureLayout;
use crate::model::glm::{Solver, NORMAL_MAX_FEATURES};
use crate::model::{Family, Learner, LearnerParams, Model, ModelError, TrainSummary};
use crate::train::{fit_local, LocalSums};

use super::folds::Fold;
use super::Metric;

/// How a trial ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum TrialStatus {
    /// Scored on every fold at its full budget.
    Finished,
    /// Its parameters or its fit failed (see `error`).
    Failed,
    /// Stopped early by the scheduler.
    Stopped,
}

/// A trial's record in the summary JSON, the state file and `search_results.csv`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrialResult {
    /// Position in the search space.
    pub index: usize,
    /// The run name (`reg=0.01 en=0.5`).
    pub name: String,
    /// Swept parameters, keyed by train flag names.
    pub params: serde_json::Map<String, serde_json::Value>,
    /// Mean of the selection metric over the folds.
    pub metric: Option<f64>,
    /// Population standard deviation of the metric over the folds.
    pub std: Option<f64>,
    /// The metric per fold.
    pub fold_scores: Vec<f64>,
    /// Every metric averaged over the folds.
    pub metrics: BTreeMap<String, f64>,
    /// Solver iterations summed over folds (and rungs under ASHA).
    pub iterations: usize,
    /// The iteration budget of its last rung (`max-iter` without a scheduler).
    pub budget: usize,
    /// FINISHED, FAILED or STOPPED.
    pub status: TrialStatus,
    /// Its MLflow child run.
    pub run_id: Option<String>,
    /// Why it failed.
    pub error: Option<String>,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// The first fold's objective per iteration (the learning curve).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub learning_curve: Vec<f64>,
}

impl TrialResult {
    /// A trial not run yet.
    pub fn new(index: usize, set: &super::ParamSet) -> Self {
        TrialResult {
            index,
            name: set.name(),
            params: set.to_json(),
            metric: None,
            std: None,
            fold_scores: vec![],
            metrics: BTreeMap::new(),
            iterations: 0,
            budget: 0,
            status: TrialStatus::Finished,
            run_id: None,
            error: None,
            seconds: 0.0,
            learning_curve: vec![],
        }
    }

    /// This trial, failed with `error`.
    pub fn failed(mut self, error: String) -> Self {
        self.status = TrialStatus::Failed;
        self.error = Some(error);
        self
    }

    /// This trial, scored (its iterations added to those of earlier rungs).
    pub fn scored(mut self, s: FoldScores) -> Self {
        let (mean, std) = s.mean_std();
        self.metric = Some(mean);
        self.std = Some(std);
        self.fold_scores = s.scores;
        self.metrics = s.metrics;
        self.iterations += s.iterations;
        self.learning_curve = s.learning_curve;
        self.status = TrialStatus::Finished;
        self
    }
}

/// What scoring a parameter set on the folds gives.
#[derive(Debug, Clone, PartialEq)]
pub struct FoldScores {
    /// The metric per fold.
    pub scores: Vec<f64>,
    /// Every metric averaged over folds.
    pub metrics: BTreeMap<String, f64>,
    /// Iterations summed over folds.
    pub iterations: usize,
    /// The first fold's objective history.
    pub learning_curve: Vec<f64>,
}

impl FoldScores {
    /// Mean and population standard deviation of the scores.
    pub fn mean_std(&self) -> (f64, f64) {
        mean_std(&self.scores)
    }
}

/// Mean and population standard deviation (as scikit-learn's `std_test_score`).
pub fn mean_std(xs: &[f64]) -> (f64, f64) {
    let n = xs.len().max(1) as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
    (mean, var.sqrt())
}

/// Whether a learner is fitted from Gram statistics: least squares, `auto` or `normal`, with at
/// most `NORMAL_MAX_FEATURES` features — elastic-net included (coordinate descent on the Gram),
/// so one XᵀX per fold serves every `reg`/`elastic-net` value of a sweep.
pub fn uses_gram(learner: &Learner, features: usize) -> bool {
    match &learner.params {
        LearnerParams::Glm(p) => {
            p.family() == Family::Gaussian
                && features <= NORMAL_MAX_FEATURES
                && matches!(p.solver(), Solver::Auto | Solver::Normal)
        }
        #[allow(unreachable_patterns)]
        _ => false,
    }
}

/// Fits `learner` on one side of a fold: from the fold's cached Gram statistics when it solves
/// from them (see [`uses_gram`]), else on the fold's blocks.
pub fn fit_fold(
    learner: &Learner,
    fold: &Fold,
    layout: &FeatureLayout,
) -> Result<(Model, TrainSummary), ModelError> {
    if uses_gram(learner, layout.width()) {
        let normal = fold.normal_equations(layout, Family::Gaussian)?;
        return fit_from_gram(learner, &fold.train, normal, layout);
    }
    fit_local(learner, &fold.train, layout)
}

/// Fits a least-squares learner from known normal equations: `auto` runs as `normal` (exact,
/// or coordinate descent on the same statistics when the penalty has an L1 part), so every
/// `reg`/`elastic-net` value of a sweep solves from the one Gram per fold.
pub fn fit_from_gram(
    learner: &Learner,
    blocks: &[crate::feature::FeatureBlock],
    normal: &crate::model::glm::NormalEquations,
    layout: &FeatureLayout,
) -> Result<(Model, TrainSummary), ModelError> {
    let learner = learner.clone().set("solver", "normal")?;
    learner.fit(layout, &mut LocalSums::sharing(blocks, normal))
}

/// Scores `learner` on every fold by `metric`.
pub fn score_folds(
    learner: &Learner,
    folds: &[Fold],
    layout: &FeatureLayout,
    metric: Metric,
) -> Result<FoldScores, ModelError> {
    let mut out = FoldScores {
        scores: Vec::new(),
        metrics: BTreeMap::new(),
        iterations: 0,
        learning_curve: Vec::new(),
    };
    for (i, fold) in folds.iter().enumerate() {
        let (model, summary) = fit_fold(learner, fold, layout)?;
        let m = fold.score(&model);
        let value = m.get(metric.name()).copied().ok_or_else(|| {
            ModelError::Numerical(format!(
                "metric {} does not apply to a {} model",
                metric.name(),
                learner.task().as_str()
            ))
        })?;
        out.scores.push(value);
        for (k, v) in m {
            *out.metrics.entry(k).or_insert(0.0) += v / folds.len() as f64;
        }
        out.iterations += summary.iterations;
        if i == 0 {
            out.learning_curve = summary.loss_history;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feature::FeatureBlock;
    use crate::model::evaluate;
    use ndarray::Array2;

    #[test]
    fn the_cached_gram_gives_the_local_trainers_scores() {
        let rows = 300;
        let block = FeatureBlock {
            dense: Array2::from_shape_fn((rows, 2), |(i, j)| ((i * (j + 3)) % 17) as f64),
            sparse: vec![],
            label: (0..rows)
                .map(|i| 2.0 * ((i * 3) % 17) as f64 - ((i * 4) % 17) as f64 + (i % 5) as f64)
                .collect(),
            weight: None,
        };
        let layout = FeatureLayout {
            names: vec!["a".into(), "b".into()],
            dense: 2,
            ..Default::default()
        };
        let parts = crate::train::split::RowSplit::KFold { k: 3, seed: 1 }.assign(0, rows, None);
        let side = |keep: &dyn Fn(u8) -> bool| {
            let picked: Vec<usize> = (0..rows).filter(|&r| keep(parts[r])).collect();
            vec![crate::train::split::select_rows(&block, &picked)]
        };
        let folds: Vec<Fold> = (0..3u8)
            .map(|f| Fold::new(side(&|x| x != f), side(&|x| x == f)))
            .collect();
        let learner = Learner::with_settings("ridge".parse().unwrap(), [("reg", "0.1")]).unwrap();
        let cached = score_folds(&learner, &folds, &layout, Metric::Rmse).unwrap();
        assert!(folds.iter().all(Fold::has_gram));
        let mut direct = Vec::new();
        for f in &folds {
            let (m, _) = fit_local(&learner, &f.train, &layout).unwrap();
            direct.push(evaluate(&m, &f.valid)["rmse"]);
        }
        for (a, b) in cached.scores.iter().zip(&direct) {
            assert!((a - b).abs() < 1e-9, "{a} vs {b}");
        }
        let (mean, std) = cached.mean_std();
        assert!(mean > 0.0 && std >= 0.0);
    }
}
