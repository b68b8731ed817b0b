//! Validation folds over feature blocks (cut from raw rows by `train::split`), each fold's
//! training Gram statistics computed once and shared by every trial.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use crate::feature::{FeatureBlock, FeatureLayout};
use crate::model::glm::{GramSummary, NormalEquations};
use crate::model::{evaluate, validate, Family, Metrics, Model, ModelError};
use crate::train::gram_of;

/// What identifies a fitted model's predictions: a GLM's coefficient and intercept bits (two
/// trials that solve to the same coefficients share one scoring), else its JSON.
type ModelBits = Vec<u64>;

fn model_bits(model: &Model) -> ModelBits {
    match model {
        Model::Glm(m) => m
            .coefficients
            .iter()
            .chain([&m.intercept])
            .map(|v| v.to_bits())
            .collect(),
        #[allow(unreachable_patterns)]
        other => serde_json::to_vec(other)
            .unwrap_or_default()
            .into_iter()
            .map(u64::from)
            .collect(),
    }
}

/// One train/validation split, with its least-squares statistics cached on first use.
#[derive(Debug)]
pub struct Fold {
    /// Rows to fit on.
    pub train: Vec<FeatureBlock>,
    /// Rows to score.
    pub valid: Vec<FeatureBlock>,
    normal: OnceLock<Result<NormalEquations, String>>,
    /// Metrics of the models scored so far, by their bits.
    scores: Mutex<HashMap<ModelBits, Metrics>>,
}

impl Fold {
    /// A fold from its two sides.
    pub fn new(train: Vec<FeatureBlock>, valid: Vec<FeatureBlock>) -> Self {
        Fold {
            train,
            valid,
            normal: OnceLock::new(),
            scores: Mutex::default(),
        }
    }

    /// A fold whose training rows are known only by their normal equations (computed from
    /// statistics shared with other folds): every trial must solve from them.
    pub fn with_normal(valid: Vec<FeatureBlock>, normal: NormalEquations) -> Self {
        let fold = Fold::new(Vec::new(), valid);
        let _ = fold.normal.set(Ok(normal));
        fold
    }

    /// `model`'s metrics on the validation rows. Trials that solve to the very same model (at
    /// `reg=0` every `elastic-net` value does) share one scoring.
    pub fn score(&self, model: &Model) -> Metrics {
        let bits = model_bits(model);
        let known = self.scores.lock().ok().and_then(|s| s.get(&bits).cloned());
        known.unwrap_or_else(|| {
            let metrics = evaluate(model, &self.valid);
            if let Ok(mut scores) = self.scores.lock() {
                scores.insert(bits, metrics.clone());
            }
            metrics
        })
    }

    /// The fold's normal equations (blocks validated, one Gram pass), computed once.
    pub fn normal_equations(
        &self,
        layout: &FeatureLayout,
        family: Family,
    ) -> Result<&NormalEquations, ModelError> {
        let cached = self.normal.get_or_init(|| {
            normal_equations_of(&self.train, layout, family).map_err(|e| e.to_string())
        });
        cached
            .as_ref()
            .map_err(|m| ModelError::Numerical(m.clone()))
    }

    /// Whether the Gram statistics were computed.
    pub fn has_gram(&self) -> bool {
        self.normal.get().is_some()
    }
}

/// The Gram statistics of `blocks` (validated first, then one pass in a fixed tree).
pub fn gram_statistics(
    blocks: &[FeatureBlock],
    layout: &FeatureLayout,
    family: Family,
) -> Result<GramSummary, ModelError> {
    for (i, b) in blocks.iter().enumerate() {
        validate(b, i, layout, &family)?;
    }
    gram_of(blocks, layout.width()).ok_or(ModelError::EmptyData)
}

/// The normal equations of `blocks` (validated first, then one Gram pass in a fixed tree).
pub fn normal_equations_of(
    blocks: &[FeatureBlock],
    layout: &FeatureLayout,
    family: Family,
) -> Result<NormalEquations, ModelError> {
    Ok(NormalEquations::new(gram_statistics(
        blocks, layout, family,
    )?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::glm::{GlmModel, LinearRegression};
    use ndarray::{array, Array2};

    #[test]
    fn the_same_model_is_scored_once_and_another_model_anew() {
        let block = FeatureBlock {
            dense: Array2::from_shape_fn((6, 1), |(i, _)| i as f64),
            sparse: vec![],
            label: array![0.5, 1.0, 2.5, 3.0, 4.5, 5.0],
            weight: None,
        };
        let fold = Fold::new(vec![], vec![block]);
        let model = |slope: f64| {
            Model::from(GlmModel {
                family: Family::Gaussian,
                coefficients: array![slope],
                intercept: 0.5,
                feature_names: vec!["x".into()],
                params: LinearRegression::params().check().unwrap(),
            })
        };
        let first = fold.score(&model(1.0));
        assert_eq!(fold.score(&model(1.0)), first);
        assert_eq!(fold.scores.lock().unwrap().len(), 1);
        // Residuals 0, −0.5, 0, −0.5, 0, −0.5 for slope 1 and intercept 0.5.
        assert!((first["rmse"] - 0.125f64.sqrt()).abs() < 1e-12);
        let other = fold.score(&model(0.9));
        assert_ne!(other["rmse"], first["rmse"]);
        assert_eq!(fold.scores.lock().unwrap().len(), 2);
    }
}
