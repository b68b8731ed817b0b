//! One trial: a parameter set fitted and scored on every fold (least squares solved from the
//! fold's cached Gram statistics), and its recorded result.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::feature::FeatureLayout;
use crate::model::{
    Family, GlmValidParams, LinearModel, ModelError, NormalEquations, Solver, NORMAL_MAX_FEATURES,
};
use crate::train::fit_local;

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

/// Whether a least-squares fit is solved from Gram statistics: `auto` or `normal` with at most
/// `NORMAL_MAX_FEATURES` features — elastic-net included (coordinate descent on the Gram), so
/// one XᵀX per fold serves every `reg`/`elastic-net` value of a sweep.
pub fn uses_gram(params: &GlmValidParams, features: usize) -> bool {
    params.family() == Family::Gaussian
        && features <= NORMAL_MAX_FEATURES
        && matches!(params.solver(), Solver::Auto | Solver::Normal)
}

/// Fits `params` on one side of a fold: from its cached Gram statistics (see [`uses_gram`]),
/// otherwise with the local trainer.
pub fn fit_fold(
    params: &GlmValidParams,
    fold: &Fold,
    layout: &FeatureLayout,
) -> Result<(LinearModel, usize, Vec<f64>), ModelError> {
    if uses_gram(params, layout.width()) {
        return fit_gram(
            params,
            fold.normal_equations(layout, params.family())?,
            layout,
        );
    }
    let (model, summary) = fit_local(params, &fold.train, layout)?;
    Ok((model, summary.iterations, summary.loss_history))
}

/// Fits `params` from normal equations: the model, iterations and the objective reached.
pub fn fit_gram(
    params: &GlmValidParams,
    normal: &NormalEquations,
    layout: &FeatureLayout,
) -> Result<(LinearModel, usize, Vec<f64>), ModelError> {
    let s = normal.solve(params)?;
    let model = LinearModel {
        family: params.family(),
        coefficients: s.coefficients,
        intercept: s.intercept,
        feature_names: layout.names.clone(),
        params: params.clone(),
    };
    Ok((model, s.iterations, vec![s.objective]))
}

/// Scores `params` on every fold by `metric`.
pub fn score_folds(
    params: &GlmValidParams,
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
        let (model, iterations, curve) = fit_fold(params, fold, layout)?;
        let m = fold.score(&model);
        let value = m.get(metric.name()).copied().ok_or_else(|| {
            ModelError::Numerical(format!(
                "metric {} does not apply to a {:?} model",
                metric.name(),
                params.family()
            ))
        })?;
        out.scores.push(value);
        for (k, v) in m {
            *out.metrics.entry(k).or_insert(0.0) += v / folds.len() as f64;
        }
        out.iterations += iterations;
        if i == 0 {
            out.learning_curve = curve;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feature::FeatureBlock;
    use crate::model::ModelKind;
    use crate::train::evaluate_blocks;
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
        };
        let parts = crate::train::split::RowSplit::KFold { k: 3, seed: 1 }.assign(0, rows, None);
        let side = |keep: &dyn Fn(u8) -> bool| {
            let picked: Vec<usize> = (0..rows).filter(|&r| keep(parts[r])).collect();
            vec![crate::train::split::select_rows(&block, &picked)]
        };
        let folds: Vec<Fold> = (0..3u8)
            .map(|f| Fold::new(side(&|x| x != f), side(&|x| x == f)))
            .collect();
        let params = ModelKind::Ridge.params().reg(0.1).check().unwrap();
        let cached = score_folds(&params, &folds, &layout, Metric::Rmse).unwrap();
        assert!(folds.iter().all(Fold::has_gram));
        let mut direct = Vec::new();
        for f in &folds {
            let (m, _) = fit_local(&params, &f.train, &layout).unwrap();
            direct.push(evaluate_blocks(&m, &f.valid)["rmse"]);
        }
        for (a, b) in cached.scores.iter().zip(&direct) {
            assert!((a - b).abs() < 1e-9, "{a} vs {b}");
        }
        let (mean, std) = cached.mean_std();
        assert!(mean > 0.0 && std >= 0.0);
    }
}
